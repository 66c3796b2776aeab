import { describe, expect, it } from '@jest/globals';
import { DEFAULT_COMMAND_TIMEOUT_MS, effectiveTimeoutMs } from '../../../src/transport/command-timeout.js';

describe('effectiveTimeoutMs', () => {
  it("takes the command's own limit, else the connection's", () => {
    expect(effectiveTimeoutMs(500, 9000)).toBe(500);
    expect(effectiveTimeoutMs(undefined, 9000)).toBe(9000);
    expect(effectiveTimeoutMs(undefined, undefined)).toBeUndefined();
    expect(DEFAULT_COMMAND_TIMEOUT_MS).toBe(600_000);
  });

  it('reads 0, Infinity and limits beyond what a timer can hold as no limit', () => {
    expect(effectiveTimeoutMs(0, 9000)).toBeUndefined();
    expect(effectiveTimeoutMs(Infinity, 9000)).toBeUndefined();
    expect(effectiveTimeoutMs(2 ** 31, 9000)).toBeUndefined();
    expect(effectiveTimeoutMs(undefined, 0)).toBeUndefined();
  });

  it('refuses negative and NaN limits, naming the setting', () => {
    expect(() => effectiveTimeoutMs(-1, 9000)).toThrow(
      expect.objectContaining({ kind: 'pef/validation-error', message: expect.stringContaining('timeoutMs') }),
    );
    expect(() => effectiveTimeoutMs(undefined, Number.NaN)).toThrow(/commandTimeoutMs/);
  });
});
