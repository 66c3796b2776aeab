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
    expect(() => parseSerial('hello', '/etc/puppet/puppetserver/ca/serial')).toThrow(/\/etc\/puppet\/puppetserver\/ca\/serial does not hold a hex serial/);
  });

  it('reads the floor parameter as hex or a number', () => {
    expect(parseSerialParam('0x186A0', 'minimum')).toBe(100000n);
    expect(parseSerialParam('186a0', 'minimum')).toBe(100000n);
    expect(parseSerialParam(100000, 'minimum')).toBe(100000n);
    expect(() => parseSerialParam('lots', 'minimum')).toThrow(/minimum must be hex/);
    expect(() => parseSerialParam(-1, 'minimum')).toThrow(/positive integer/);
  });
});
