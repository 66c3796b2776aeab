/**
 * The prerequisites of the plans that give the active server a spare (promote after a failover,
 * failback before its switchover): the server that stays active is read and active, the server
 * that becomes its spare is read and does not say active. A spare that says active and is not
 * fenced would be a second primary (agents split between two servers, two CAs signing): that is
 * the split-brain guard's case (`pef/split-brain-guard`, exit 2, nothing changed), answered by
 * demoting it, never by forcing. Any other server of the pair still read as active is the same
 * danger. Pure: the plans read the servers with probe_status and pass the readings in.
 */
import { PefError } from '../errors/pef-error.js';
import type { StatusProbe } from '../replication/status-probe.js';

/** One server as probe_status read it (probe null: it could not be read, `error` says why). */
export interface ServerReading {
  name: string;
  probe: StatusProbe | null;
  error: string | null;
}

/** What the checks judge. */
export interface NewSpareInput {
  /** The server that stays (or, PE native, becomes) active. */
  active: ServerReading;
  /** The server that becomes its spare. */
  spare: ServerReading;
  /** The pair's other servers (an old primary not reused): only an active one matters. */
  others: readonly ServerReading[];
  /** PE native before promote_replica: the server to keep may still be a passive replica. */
  activeMayBePassive: boolean;
}

/** One check's verdict: `problem` null when it passed, with `ok` saying what was found. */
export interface Verdict {
  check: string;
  problem: string | null;
  ok: string;
}

/** The verdicts, and the split-brain refusal (a full sentence) or null. */
export interface NewSpareAssessment {
  verdicts: Verdict[];
  splitBrain: string | null;
}

/** Judges the readings; see the file comment. */
export function assessNewSpare(input: NewSpareInput): NewSpareAssessment {
  const { active, spare } = input;
  const verdicts: Verdict[] = [];
  const activeMode = active.probe?.replication.mode?.mode ?? null;
  const allowed = input.activeMayBePassive ? ['active', 'passive'] : ['active'];
  verdicts.push({
    check: 'active server',
    problem: !active.probe
      ? `${active.name} cannot be read (${active.error ?? 'no answer'})`
      : allowed.includes(activeMode ?? '')
        ? null
        : `${active.name} is ${activeMode ?? 'without a mode'}, not active: run the failover first (pef plan run failover), or name the active server with active=<name>`,
    ok: `${active.name} is ${activeMode ?? '?'}${epochText(active)}`,
  });
  const spareMode = spare.probe?.replication.mode?.mode ?? null;
  const fenced = spare.probe?.replication.killSwitch ? ', kill-switch on' : '';
  verdicts.push({
    check: 'new spare',
    problem: !spare.probe
      ? `${spare.name} cannot be read (${spare.error ?? 'no answer'}): it must be up, reachable as root, to become the spare`
      : spare.name === active.name
        ? `${spare.name} is the active server itself: name another server as the spare`
        : null,
    ok: `${spare.name} is ${spareMode === null ? 'without a mode (a new host)' : `${spareMode}${fenced}`}`,
  });
  let splitBrain: string | null = null;
  const stillActive = [spare, ...input.others].filter(
    (s) => s.name !== active.name && s.probe?.replication.mode?.mode === 'active',
  );
  const [rival] = stillActive;
  if (rival)
    splitBrain =
      `${rival.name} says it is active and is not fenced: with ${active.name} active too, agents would be split between two primaries and two CAs would sign. ` +
      `Demote it first (pef task run demote -t ${rival.name} peer=${active.name}), then run again. Nothing was changed.`;
  verdicts.push({
    check: 'split-brain guard',
    problem: splitBrain === null ? null : `${rival?.name ?? '?'} says active`,
    ok: `no server but ${active.name} says active`,
  });
  return { verdicts, splitBrain };
}

function epochText(server: ServerReading): string {
  const epoch = server.probe?.replication.epoch;
  return typeof epoch === 'number' ? `, epoch ${epoch}` : '';
}

/**
 * Prints each verdict (when `print`, after `headline`), then refuses: the split-brain guard first,
 * with its own kind (`pef/split-brain-guard`), else every failed check (`pef/task-failed`); both exit 2.
 */
export function refuseUnlessReady(
  log: (text: string) => void,
  plan: string,
  headline: string,
  assessment: NewSpareAssessment,
  print: boolean,
): void {
  const { verdicts, splitBrain } = assessment;
  if (print) {
    log(headline);
    for (const v of verdicts) log(`check ${v.check}: ${v.problem === null ? `ok, ${v.ok}` : `FAILED: ${v.problem}`}`);
  }
  if (splitBrain !== null) throw new PefError('pef/split-brain-guard', splitBrain, { plan });
  const failed = verdicts.filter((v) => v.problem !== null);
  if (failed.length > 0)
    throw new PefError(
      'pef/task-failed',
      `${plan} refused, a prerequisite failed:\n${failed.map((v) => `- ${v.check}: ${v.problem ?? ''}`).join('\n')}\nNothing was changed.`,
      { failed: failed.map((v) => v.check) },
    );
}
