/**
 * promote_replica: PE's native DR promotion, `puppet infrastructure promote replica --yes`, run on
 * the replica. A host the status already names as the primary is left alone (changed: false).
 * PE asks to "verify that the primary is permanently offline" and pef answers PE's own prompt
 * with --yes, so pef checks instead: when the old primary's Puppet Server still answers on 8140,
 * the task refuses unless force=true (two primaries confuse agents).
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import {
  TOPOLOGIES,
  assertPeHost,
  infrastructureFailure,
  parsePeHostProbe,
  peHostProbeCommand,
  promoteReplicaCommand,
  readInfraStatus,
} from '../src/puppet/pe-infrastructure.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Prints the HTTP status of the primary's Puppet Server status endpoint, `000` when nothing answers. */
export function primaryAnswersCommand(primary: string, port = 8140): string {
  const url = shQuote(`https://${primary}:${port}/status/v1/simple`);
  return `if command -v curl >/dev/null 2>&1; then curl -sk -o /dev/null --max-time 5 -w '%{http_code}' ${url} || true; else echo no-curl; fi`;
}

/** Reads `primaryAnswersCommand`: true answering, false silent, null could not check. */
export function parsePrimaryAnswers(stdout: string): boolean | null {
  const code = stdout.trim();
  if (/^[1-5]\d\d$/.test(code)) return true;
  if (/^0+$/.test(code) || code === '') return false;
  return null;
}

/** Promotes this PE replica to primary; see the file comment. */
export const promoteReplica = defineTask({
  name: 'promote_replica',
  description: 'PE: promote this replica to primary with `puppet infrastructure promote replica`, run on the replica',
  details: `Run on the PE replica. changed: false when the status already names this host the primary.
Refuses while the old primary's Puppet Server still answers on port 8140 (checked from this host
with curl), unless force=true: PE says the primary must be permanently offline first.
Promotion can take as long as the PE install did; afterwards provision a new replica
(provision_replica) and point anything that named the old primary at this one.`,
  params: z.object({
    force: z.boolean().default(false).describe('promote even when the old primary still answers on 8140'),
    topology: z
      .enum(TOPOLOGIES)
      .optional()
      .describe('--topology for the promoted primary (PE default: as provisioned)'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const task = 'promote_replica';
    const host = ctx.target.name;
    const probe = parsePeHostProbe((await ctx.read(peHostProbeCommand({ certname: true }))).stdout);
    assertPeHost(probe, host, task, { certname: true });
    const self = probe.certname as string;
    const status = await readInfraStatus(ctx, task);
    if (status.primary === self) {
      return {
        changed: false,
        value: { primary: self, action: 'none', note: `${self} is the primary already` },
      };
    }

    const former = status.primary;
    let answers: boolean | null = null;
    if (former !== null) {
      answers = parsePrimaryAnswers((await ctx.read(primaryAnswersCommand(former))).stdout);
      if (answers === true && !ctx.params.force) {
        throw new PefError(
          'pef/task-failed',
          `${task} refused on ${host}: the primary ${former} still answers on https://${former}:8140. PE: promote only once the primary is permanently offline, ` +
            `or agents end up with two primaries. Stop or isolate ${former}, or pass force=true if you are sure. Nothing was changed.`,
          { host, former_primary: former },
        );
      }
    }
    const primaryCheck =
      former === null
        ? 'the status names no primary; not checked'
        : answers === null
          ? `could not check ${former} (no curl here)`
          : answers
            ? `${former} still answers (force=true)`
            : `${former} does not answer`;
    ctx.log(`promoting ${self}: ${primaryCheck}`);

    try {
      await ctx.change(promoteReplicaCommand({ topology: ctx.params.topology }));
    } catch (error) {
      throw infrastructureFailure(
        task,
        host,
        'infrastructure promote replica',
        error,
        `The promotion may have run in part: look at \`puppet infrastructure status\` on ${host} and PE's installer log (/var/log/puppetlabs/installer/), fix the cause, and run ${task} again.`,
      );
    }
    if (ctx.noop)
      return {
        changed: true,
        value: {
          primary: self,
          action: 'promote',
          former_primary: former,
          primary_check: primaryCheck,
        },
      };

    const after = await readInfraStatus(ctx, task);
    if (after.primary !== null && after.primary !== self) {
      throw new PefError(
        'pef/task-failed',
        `${task}: \`puppet infrastructure promote replica\` succeeded on ${host}, but the status afterwards names ${after.primary} the primary. Check \`puppet infrastructure status\` there before anything else.`,
        { host, primary: after.primary },
      );
    }
    return {
      changed: true,
      value: {
        primary: self,
        action: 'promote',
        former_primary: former,
        primary_check: primaryCheck,
      },
    };
  },
});
