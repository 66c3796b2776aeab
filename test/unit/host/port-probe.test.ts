/**
 * The port probe: its shell text refuses what is not a host or a port, and, run for real with sh
 * on this machine, tells an open port from a refused one and an unknown name.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { parsePortProbe, portProbeCommand } from '../../../src/host/port-probe.js';

const sh = (command: string) => execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' });

describe('port probe', () => {
  it('refuses host names and ports a shell could misread', () => {
    expect(() => portProbeCommand('a;reboot', [22])).toThrow(/Not a host/);
    expect(() => portProbeCommand('-oProxy', [22])).toThrow(/Not a host/);
    expect(() => portProbeCommand('primary.lab', [0])).toThrow(/Not a TCP port/);
  });

  it('tells open, refused and unknown names apart, for real', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const closed = await new Promise<number>((r) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => r(p));
      });
    });
    try {
      const local = parsePortProbe(sh(portProbeCommand('127.0.0.1', [port, closed])), [port, closed]);
      expect(local[port]).toEqual({ state: 'open', detail: 'connected' });
      expect(local[closed]).toEqual({ state: 'refused', detail: 'Connection refused' });
      const nowhere = parsePortProbe(sh(portProbeCommand('no-such-host.invalid', [22], 2)), [22]);
      expect(nowhere[22]?.state).toBe('no-answer');
    } finally {
      server.close();
    }
  });

  it('reads a deadline as no answer, a missing tool as unknown, and an unprinted port as unknown', () => {
    expect(parsePortProbe('port.22=124 \nport.8140=127 sh: bash: not found', [22, 8140, 443])).toEqual({
      22: { state: 'no-answer', detail: 'no answer before the deadline' },
      8140: { state: 'unknown', detail: 'sh: bash: not found' },
      443: { state: 'unknown', detail: 'not probed' },
    });
  });
});
