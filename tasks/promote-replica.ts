/**
 * promote_replica: PE's native DR promotion, `puppet infrastructure promote replica --yes`, run on
 * the replica. A host the status already names as the primary is left alone (changed: false).
 * PE asks to "verify that the primary is permanently offline" and pef answers PE's own prompt
 * with --yes, so pef checks instead: unless the old primary's Puppet Server refuses connections on
 * 8140, the task refuses without force=true: when it still answers (two primaries confuse agents),
 * and when its state cannot be established (no curl, a timeout, no primary in the status).
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
import { curlFailureHint } from '../src/puppet/classifier-client.js';
import { discoverHost } from '../src/host/discover.js';
import { applyMode } from '../src/puppet/apply-mode.js';
import { nextEpoch, usableEpoch } from '../src/puppet/epoch.js';
import { readReplicationState } from '../src/puppet/mode.js';
import { checkPeer } from '../src/puppet/peer-check.js';
import { splitBrainGuard } from '../src/puppet/split-brain-guard.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/**
 * Asks the primary's Puppet Server status endpoint from this host. Prints `code=<HTTP status>
 * rc=<curl's exit status>`, or `no-curl`. No `|| true`: curl's own exit status is what tells a
 * refused connection (the server is not listening) from a timeout or a name that does not resolve.
 */
export function primaryAnswersCommand(primary: string, port = 8140): string {
  const url = shQuote(`https://${primary}:${port}/status/v1/simple`);
  return `if command -v curl >/dev/null 2>&1; then code=$(curl -sk -o /dev/null --max-time 5 -w '%{http_code}' ${url}); echo "code=$code rc=$?"; else echo no-curl; fi`;
}

/** What `primaryAnswersCommand` established: the primary answers, is not listening, or unknown (with why). */
export type PrimaryAnswers = { answers: true } | { answers: false } | { answers: null; why: string };

/**
 * Reads `primaryAnswersCommand`. Only a refused connection (curl exit 7) is "does not answer";
 * a timeout, a name that does not resolve, a missing curl or unreadable output stay unknown.
 */
export function parsePrimaryAnswers(stdout: string): PrimaryAnswers {
  const text = stdout.trim();
  if (text === 'no-curl') return { answers: null, why: 'there is no curl on this host to ask it' };
  const m = /^code=(\d*) rc=(\d+)$/.exec(text);
  if (!m) return { answers: null, why: `the check printed nothing usable (${JSON.stringify(text.slice(0, 80))})` };
  const [, code = '', rc = ''] = m;
  if (/^[1-5]\d\d$/.test(code)) return { answers: true };
  if (rc === '7') return { answers: false };
  return { answers: null, why: `curl could not establish it (${curlFailureHint(Number(rc))})` };
}

/** Promotes this PE replica to primary; see the file comment. */
export const promoteReplica = defineTask({
  name: 'promote_replica',
  description: 'PE: promote this replica to primary with `puppet infrastructure promote replica`, run on the replica',
  details: `Run on the PE replica. changed: false when the status already names this host the primary.
The split-brain guard: refuses (pef/split-brain-guard, exit 2, nothing changed) unless the old
primary's Puppet Server refuses connections on port 8140 (checked from this host with curl), unless
force=true with confirm=<peer, else the old primary's certname> (prompted on a terminal): PE says
the primary must be permanently offline first. A timeout, a missing curl or a status that names no
primary is unknown, and refused too. Afterwards it records mode active and raises the promotion
epoch past its own and the old primary's (peer=<its inventory name>, read when it answers).
Promotion can take as long as the PE install did; afterwards provision a new replica
(provision_replica) and point anything that named the old primary at this one.`,
  params: z.object({
    force: z
      .boolean()
      .default(false)
      .describe('promote even when the old primary still answers on 8140 (needs confirm too)'),
    confirm: z
      .string()
      .optional()
      .describe(
        "with force=true: the other server's name (peer, else the old primary's certname), confirming the forced promotion (asked on a terminal)",
      ),
    peer: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/)
      .optional()
      .describe("the old primary's inventory name: its epoch is read (when it answers) to raise this server's past it"),
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
    // Fail closed: promote without force only when the primary is known not to answer.
    const check: PrimaryAnswers =
      former === null
        ? { answers: null, why: 'the infrastructure status names no primary to check' }
        : parsePrimaryAnswers((await ctx.read(primaryAnswersCommand(former))).stdout);
    const other = ctx.params.peer ?? former ?? '(unknown)';
    // The peer's epoch, to raise ours past it; read before any change (an invalid one refuses here).
    const { check: peerCheck } = await checkPeer(ctx, ctx.params.peer ?? null);
    const ownEpoch = usableEpoch((await readReplicationState(ctx)).epoch, host);
    const peerEpoch = peerCheck.reachable === true ? usableEpoch(peerCheck.epoch, other) : null;
    await splitBrainGuard(
      {
        task,
        host,
        other,
        refusal:
          check.answers === false
            ? null
            : check.answers === true
              ? `${task} refused on ${host}: the primary ${former} still answers on https://${former}:8140. PE: promote only once the primary is permanently offline, ` +
                `or agents end up with two primaries. Stop or isolate ${former}, or pass force=true confirm=${other} if you are sure. Nothing was changed.`
              : `${task} refused on ${host}: could not establish that the primary ${former ?? '(unknown)'} is offline: ${check.why}. ` +
                `PE: promote only once the primary is permanently offline. Make sure it is, then pass force=true confirm=${other}. Nothing was changed.`,
        force: ctx.params.force,
        confirm: ctx.params.confirm,
        details: { former_primary: former, ...(check.answers === null ? { unknown: check.why } : {}) },
      },
      ctx.prompter,
    );
    const primaryCheck =
      check.answers === null
        ? `could not check ${former ?? 'the primary'}: ${check.why} (force=true)`
        : check.answers
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
    // pef's own record of the promotion: mode active and a raised epoch, so the old primary's
    // replication job fences it when it comes back (the CA is PE's, by classification: ca untouched).
    const applied = await applyMode(
      ctx,
      await discoverHost((c) => ctx.read(c)),
      {
        mode: 'active',
        peer: ctx.params.peer,
        replication: 'enabled',
        task,
        epoch: nextEpoch(ownEpoch, peerEpoch),
      },
      ctx.noop,
    );
    return {
      changed: true,
      value: {
        primary: self,
        action: 'promote',
        former_primary: former,
        primary_check: primaryCheck,
        epoch: applied.value['epoch'],
        updated: applied.changes,
      },
    };
  },
});
