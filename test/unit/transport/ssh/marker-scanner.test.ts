import { describe, expect, it } from '@jest/globals';
import { MarkerScanner } from '../../../../src/transport/ssh/marker-scanner.js';

function scan(chunks: string[]): { emitted: string[]; status: string | undefined; doneAt: number } {
  const emitted: string[] = [];
  const scanner = new MarkerScanner('END:ab:', (b) => emitted.push(b.toString()));
  let doneAt = -1;
  chunks.forEach((c, i) => {
    if (scanner.push(Buffer.from(c)) && doneAt < 0) doneAt = i;
  });
  return { emitted, status: scanner.status, doneAt };
}

describe('MarkerScanner', () => {
  it('passes output through and finds the marker with its status', () => {
    expect(scan(['hello ', 'world', 'END:ab:0\n'])).toEqual({ emitted: ['hello ', 'world'], status: '0', doneAt: 2 });
  });

  it('finds a marker split anywhere across chunks, without emitting any of it', () => {
    const whole = 'out putEND:ab:127\n';
    for (let i = 1; i < whole.length; i++) {
      for (let j = i + 1; j < whole.length; j++) {
        const r = scan([whole.slice(0, i), whole.slice(i, j), whole.slice(j)]);
        expect(r.emitted.join('')).toBe('out put');
        expect(r.status).toBe('127');
        expect(r.doneAt).toBe(2);
      }
    }
  });

  it('releases held-back bytes that turn out not to be the marker', () => {
    const r = scan(['aEND:', 'a', 'b END:ax', 'END:ab:3\n']);
    expect(r.emitted.join('')).toBe('aEND:ab END:ax');
    expect(r.status).toBe('3');
  });

  it('emits output without a trailing newline right before the marker', () => {
    expect(scan(['no newlineEND:ab:1\n']).emitted).toEqual(['no newline']);
  });

  it('ignores data after the marker', () => {
    const r = scan(['END:ab:0\nlate', 'more']);
    expect(r.emitted).toEqual([]);
    expect(r.doneAt).toBe(0);
  });
});

describe('MarkerScanner with passAfter', () => {
  it('removes the marker line and passes what follows it, however the stream is split', () => {
    const whole = 'beforePID:ab:42\nafter\nmore';
    for (let i = 1; i < whole.length; i++) {
      const emitted: string[] = [];
      const scanner = new MarkerScanner('PID:ab:', (b) => emitted.push(b.toString()), true);
      scanner.push(Buffer.from(whole.slice(0, i)));
      scanner.push(Buffer.from(whole.slice(i)));
      expect(emitted.join('')).toBe('beforeafter\nmore');
      expect(scanner.status).toBe('42');
    }
  });
});
