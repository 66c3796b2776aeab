/**
 * compare_ca: whether the receiver's CA is an exact copy of the sender's, by the digest sync_ca
 * and the host-side CA job check a copy against (caDigestCommand: every file's mode, content hash
 * and path under the cadir). What switchover verifies before it promotes: a CA that differs by
 * one signed certificate or one CRL entry is not equal. Read-only.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { caDigestCommand } from '../src/puppet/ca-dir.js';
import type { HostCommands } from '../src/task/task.js';
import { defineTask } from '../src/task/task.js';

const SHA256 = /^[0-9a-f]{64}$/;

// The CA digest on one host; a missing cadir or an answer that is not a digest is an error, never "equal".
async function caDigest(host: Pick<HostCommands, 'read' | 'target'>): Promise<string> {
  const facts = await discoverHost((c) => host.read(c));
  const digest = facts.paths.cadir ? (await host.read(caDigestCommand(facts.paths.cadir))).stdout.trim() : '';
  if (!facts.hasCa || !SHA256.test(digest))
    throw new PefError(
      'pef/task-failed',
      `compare_ca: no CA to digest on ${host.target.name} (${facts.paths.cadir || 'no cadir'}${facts.hasCa ? '' : ', no ca_crt.pem'}). Nothing was changed.`,
      { host: host.target.name, cadir: facts.paths.cadir },
    );
  return digest;
}

/** Compares the two CAs by digest; see the file comment. */
export const compareCa = defineTask({
  name: 'compare_ca',
  description: "Whether the receiver's CA is an exact copy of this server's (digest of every file, mode and path)",
  details: `Run on the sending server with receiver=<the other server's inventory name>. Read-only.
Value: { equal, digest: { <this>: sha256, <receiver>: sha256 } }. Fails when either server has no CA.`,
  params: z.object({
    receiver: z.string().min(1).describe("the other server's inventory name"),
  }),
  supportsNoop: true,
  async run(ctx) {
    const receiver = await ctx.peer(ctx.params.receiver);
    const own = await caDigest(ctx);
    const other = await caDigest(receiver);
    return {
      changed: false,
      value: { equal: own === other, digest: { [ctx.target.name]: own, [receiver.target.name]: other } },
    };
  },
});
