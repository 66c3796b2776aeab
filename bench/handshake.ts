/**
 * What one SSH connection costs pef, measured in the run that uses it: N sequential rounds of
 * SshTransport.connect (TCP, key exchange, auth) + the first command (opens the persistent
 * shell) + close, against one address. Reported two ways:
 *   - wall time per round (median), which includes round-trip waits and other users' load;
 *   - CPU time per round, controller and server together: this process's `cpuUsage()` plus the
 *     CPU of the sshd connection processes, read from the listener's cutime/cstime once they
 *     have been reaped (/proc/<pid>/stat), at the kernel's clock-tick resolution.
 * The fan-out floor divides targets × cost by the cores.
 */
import type { Target } from '../src/inventory/target.js';
import { SshTransport } from '../src/transport/ssh-transport.js';
import type { Sshd } from '../test/helpers/sshd.js';
import { BENCH_COMMAND } from './bench-runtime.js';
import { ownCpuMs, reapedChildrenCpuMs } from './cpu.js';
import { summarize, type Summary } from './stats.js';

/** The cost of one connection, both ways; see the file comment. */
export interface HandshakeCost {
  wall: Summary;
  /** Controller + sshd CPU per connection, ms. */
  cpuMs: number;
  clientCpuMs: number;
  serverCpuMs: number;
}

/** Measures `rounds` sequential connections (after 2 warm-up ones) to `target` served by `sshd`. */
export async function measureHandshake(sshd: Sshd, target: Target, rounds = 10): Promise<HandshakeCost> {
  const transport = new SshTransport();
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const conn = await transport.connect(target);
    try {
      const out = await conn.run(BENCH_COMMAND);
      if (out.stdout !== 'x\n')
        throw new Error(`handshake probe on ${target.name}: unexpected output ${JSON.stringify(out.stdout)}`);
      return performance.now() - t0;
    } finally {
      await conn.close();
    }
  };
  for (let i = 0; i < 2; i++) await once();
  await settled(sshd);
  const server0 = reapedChildrenCpuMs(sshd.pid);
  const client0 = ownCpuMs();
  const wall: number[] = [];
  for (let i = 0; i < rounds; i++) wall.push(await once());
  const clientCpuMs = (ownCpuMs() - client0) / rounds;
  await settled(sshd);
  const serverCpuMs = (reapedChildrenCpuMs(sshd.pid) - server0) / rounds;
  return { wall: summarize(wall), cpuMs: clientCpuMs + serverCpuMs, clientCpuMs, serverCpuMs };
}

/** Waits (at most 5 s) until the listener has no connection processes left, i.e. all reaped. */
export async function settled(sshd: Sshd): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await sshd.sessionPids()).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
