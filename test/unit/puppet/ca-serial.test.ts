import { describe, expect, it } from '@jest/globals';
import { formatSerial, parseSerial, parseSerialParam } from '../../../src/puppet/ca-serial.js';

describe('CA serial file', () => {
  it('keeps the Ruby CLI format: lowercase, unpadded, newline', () => {
    const s = parseSerial('002\n', 'serial');
    expect(s).toMatchObject({ value: 2n, newline: true });
    expect(formatSerial(0x186a0n, s)).toBe('186a0\n');
    expect(formatSerial(0x1001n, parseSerial('1000\n', 'serial'))).toBe('1001\n');
  });

  it('keeps the server format: zero-padded to 4, uppercase, no newline', () => {
    const s = parseSerial('0004', 'serial');
    expect(s).toMatchObject({ value: 4n, width: 4, newline: false });
    expect(formatSerial(0x1an, s)).toBe('001A');
    expect(formatSerial(0x186a0n, s)).toBe('186A0');
  });

  it('refuses a file that is not hex, naming it', () => {
    expect(() => parseSerial('hello', '/etc/puppet/puppetserver/ca/serial')).toThrow(
      /\/etc\/puppet\/puppetserver\/ca\/serial does not hold a hex serial/,
    );
  });

  it('reads the floor parameter as hex or a number', () => {
    expect(parseSerialParam('0x186A0', 'minimum')).toBe(100000n);
    expect(parseSerialParam('186a0', 'minimum')).toBe(100000n);
    expect(parseSerialParam(100000, 'minimum')).toBe(100000n);
    expect(() => parseSerialParam('lots', 'minimum')).toThrow(/minimum must be hex/);
    expect(() => parseSerialParam(-1, 'minimum')).toThrow(/positive integer/);
  });
});

describe('unused serials', () => {
  it('reads inventory.txt and finds the highest serial the CA never issued below its next one', async () => {
    const { inventorySerials, unusedSerialBelow } = await import('../../../src/puppet/ca-serial.js');
    const used = inventorySerials(
      '0x0001 2026-11-21T01:13:24UTC 2041-11-18T01:13:29UTC /CN=primary.lab\n0x0002 a b /CN=replica.lab\n0x1869F a b /CN=x\n',
    );
    expect([...used]).toEqual([1n, 2n, 0x1869fn]);
    expect(unusedSerialBelow(0x186a0n, used)).toBe(0x1869en);
    expect(unusedSerialBelow(3n, used)).toBeUndefined();
  });
});
