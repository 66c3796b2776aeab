/**
 * The per-command floor of a persistent shell: one node-ssh connection, one exec channel running
 * `sh`, and per command the line `( echo x )`, timed until its `x` is back. That is a round trip
 * plus one fork of the remote shell, with nothing of pef's (no nonce, markers, cd, env, stdin).
 * pef's persistent channel forks once per command too, so this is the cost it can approach.
 */
import type { NodeSSH } from 'node-ssh';
import type { Target } from '../src/inventory/target.js';
import { openClient } from '../src/transport/ssh/open-client.js';
import type { Ssh2Channel, Ssh2Client } from '../src/transport/ssh/ssh2-types.js';
import type { Cleanup } from './cleanup.js';

/** The floor command, as the raw shell reads it. */
export const FLOOR_COMMAND = '( echo x )';

/** An open raw shell; see the file comment. */
export interface RawShell {
  /** Runs FLOOR_COMMAND once; resolves with its wall time in ms. */
  once(): Promise<number>;
  close(): Promise<void>;
}

/** Opens the raw shell on `target` (registered with `cleanup` until closed). */
export async function openRawShell(cleanup: Cleanup, target: Target): Promise<RawShell> {
  const ssh: NodeSSH = await openClient(target, { keepaliveIntervalMs: 15_000, keepaliveCountMax: 3 });
  const client = ssh.connection as unknown as Ssh2Client;
  const channel = await new Promise<Ssh2Channel>((resolve, reject) =>
    client.exec('sh', {}, (error, c) => (error ? reject(error) : resolve(c))),
  );
  channel.on('error', () => undefined);
  const done = cleanup.add('raw shell (floor)', () => {
    channel.close();
    ssh.dispose();
    return Promise.resolve();
  });
  let buffered = '';
  let waiting: (() => void) | undefined;
  channel.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    if (buffered.includes('x\n')) {
      buffered = buffered.slice(buffered.indexOf('x\n') + 2);
      const w = waiting;
      waiting = undefined;
      w?.();
    }
  });
  return {
    once: () =>
      new Promise<number>((resolve) => {
        const start = performance.now();
        waiting = () => resolve(performance.now() - start);
        channel.write(`${FLOOR_COMMAND}\n`);
      }),
    close: done,
  };
}
