/**
 * check_pair: before setup changes anything, whether the primary and the replica can be a warm
 * spare pair (src/workflow/pair-checks.ts): same flavor, versions, a DNS alt name agents can use
 * for both, room on the replica, clocks in step. Read-only.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import type { HostCommands } from '../src/task/task.js';
import { defineTask } from '../src/task/task.js';
import { parseKeyValues } from '../src/util/key-value.js';
import { pairFindings, pairMeasureCommand, type PairFinding } from '../src/workflow/pair-checks.js';

/** Checks a primary/replica pair; changes nothing. */
export const checkPair = defineTask({
  name: 'check_pair',
  description:
    'Check that the primary and the replica can be a warm-spare pair (flavor, versions, alt names, disk, clock)',
  details: `Run on the primary with replica=<the replica's inventory name>. Read-only.
Fails (listing every verdict) when the flavors differ, PE versions differ, the replica has less
than twice the primary's CA and databases free in /var/lib, or the clocks are 60 s or more apart.
Differing oss versions and a primary certificate without a common DNS alt name are warnings, with the fix.`,
  params: z.object({
    replica: z.string().min(1).describe("the replica's inventory name"),
  }),
  supportsNoop: true,
  async run(ctx) {
    const replica = await ctx.peer(ctx.params.replica);
    // Two hosts, two connections: each read on both side by side.
    const [primaryFacts, replicaFacts] = await Promise.all([
      discoverHost((c) => ctx.read(c)),
      discoverHost((c) => replica.read(c)),
    ]);
    const [onPrimary, onReplica] = await Promise.all([
      measure(ctx, pairMeasureCommand(primaryFacts)),
      measure(replica, pairMeasureCommand(replicaFacts)),
    ]);
    const findings = pairFindings(primaryFacts, replicaFacts, {
      primaryDataKb: onPrimary.dataKb,
      replicaFreeKb: onReplica.freeKb,
      clockSkewS: onPrimary.clockOffsetS - onReplica.clockOffsetS,
    });
    for (const f of findings) if (f.status !== 'ok') ctx.log(`${f.check}: ${f.status}: ${f.message}`);
    const errors = findings.filter((f) => f.status === 'error');
    if (errors.length > 0)
      throw new PefError(
        'pef/task-failed',
        `${ctx.target.name} and ${replica.target.name} cannot be a warm-spare pair yet:\n${errors.map(line).join('\n')}\nNothing was changed.`,
        { findings },
      );
    return { changed: false, value: { replica: replica.target.name, findings } };
  },
});

// The host's clock against the controller's, taken at the middle of the round trip. A value the
// probe did not print is an unknown, never a zero: it fails the check instead of passing it.
async function measure(host: Pick<HostCommands, 'read' | 'target'>, command: string) {
  const before = Date.now();
  const kv = parseKeyValues((await host.read(command)).stdout);
  const middle = (before + Date.now()) / 2000;
  const number = (key: string): number => {
    const value = Number(kv.get(key) ?? NaN);
    if (!Number.isFinite(value))
      throw new PefError(
        'pef/task-failed',
        `check_pair could not measure ${key} on ${host.target.name} (df, du, psql and date must run there). Nothing was changed.`,
        { host: host.target.name, measurement: key },
      );
    return value;
  };
  return { dataKb: number('data_kb'), freeKb: number('free_kb'), clockOffsetS: number('clock') - middle };
}

function line(f: PairFinding): string {
  return `  ${f.check}: ${f.message}`;
}
