/**
 * The sshd test helper serves many loopback target addresses from several sshd instances (at
 * most 16 addresses each), as the benchmarks need.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ConnectionPool } from '../../../src/transport/connection-pool.js';
import { transportFor } from '../../../src/transport/transports.js';
import { loopbackRange, startSshdFleet, type SshdFleet } from '../../helpers/sshd.js';

// Real processes on a shared 2-core machine: allow for load.
jest.setTimeout(60_000);

let fleet: SshdFleet;

beforeAll(async () => {
  fleet = await startSshdFleet(loopbackRange('127.0.21', 1, 20));
});

afterAll(async () => {
  await fleet?.stop();
});

describe('startSshdFleet', () => {
  it('spreads 20 addresses over 2 sshd instances on one port, each address reachable with host keys checked', async () => {
    expect(fleet.instances.map((s) => s.hosts.length)).toEqual([16, 4]);
    expect(new Set(fleet.instances.map((s) => s.port))).toEqual(new Set([fleet.port]));
    const before = await fleet.connectionCount();
    const pool = new ConnectionPool(transportFor);
    try {
      const picked = ['127.0.21.1', '127.0.21.16', '127.0.21.17', '127.0.21.20'];
      const outs = await Promise.all(
        picked.map(async (h) => (await pool.get(fleet.target(h, {}, `t-${h}`))).run('echo ok')),
      );
      expect(outs.map((o) => o.stdout)).toEqual(picked.map(() => 'ok\n'));
    } finally {
      await pool.closeAll();
    }
    expect((await fleet.connectionCount()) - before).toBe(4);
    expect(() => fleet.target('127.0.21.21')).toThrow(/not served/);
  });
});
