/**
 * record_job: write one replication pass into a host's job state file and syslog, the same
 * record the host-side jobs leave (src/replication/job-state.ts), so `status` sees a pass the
 * controller ran (`pef plan run sync`) exactly like a scheduled one. A failure keeps the last
 * success: that is the data status reports as at risk.
 */
import { z } from 'zod';
import { readFileCommand, writeFileCommand } from '../src/host/files.js';
import { hostValue, NOW_COMMAND, stateWords } from '../src/replication/job-script.js';
import {
  JOB_STATE_DIR,
  jobLogLine,
  jobStateDirCommand,
  jobStatePath,
  parseJobState,
} from '../src/replication/job-state.js';
import type { DataKind, JobState } from '../src/replication/job-state.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

const KINDS = [
  'ca',
  'puppetdb',
  'classification',
  'rbac',
  'orchestrator',
  'secrets',
  'code',
] as const satisfies readonly DataKind[];

/** Records a replication pass; see the file comment. */
export const recordJob = defineTask({
  name: 'record_job',
  description: "Record a replication pass in the host's job state file and syslog (what status reads)",
  details: `Writes ${JOB_STATE_DIR}/<job>.state (root, 0600) and logs "PEF: <job> [SUCCESS|FAILURE|WARNING] <message>"
with logger -t pef. The sync plan records its passes with it; the host-side jobs write the same file.`,
  params: z.object({
    job: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/)
      .describe('the job name, e.g. sync_ca (primary) or receive_ca (replica)'),
    kind: z.enum(KINDS).describe('the data kind the job carries'),
    role: z.enum(['send', 'receive']).describe('send on the active server, receive on the spare'),
    result: z.enum(['success', 'failure', 'warning']).describe('how the pass ended'),
    message: z.string().default('').describe('one line for the log (and, on failure, the state file)'),
    duration_ms: z.number().int().min(0).optional().describe('how long the pass took'),
    bytes: z.number().int().min(0).optional().describe('bytes the pass moved'),
    interval_s: z.number().int().min(1).optional().describe("the job's schedule (default: keep the recorded one)"),
    lag: z.number().int().min(0).optional().describe('items the receiver still lacks, when known'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const p = ctx.params;
    const path = jobStatePath(p.job);
    const before = parseJobState((await ctx.read(readFileCommand(path))).stdout);
    // The host's clock, when the command runs (in a runbook: when the script runs, not the export).
    const now = hostValue('now');
    const ok = p.result !== 'failure';
    const state: JobState = {
      job: p.job,
      kind: p.kind,
      role: p.role,
      result: p.result,
      lastRun: now,
      lastSuccess: ok ? now : (before?.lastSuccess ?? null),
      lastFailure: ok ? (before?.lastFailure ?? null) : now,
      error: ok ? null : p.message || 'failed',
      durationMs: p.duration_ms ?? null,
      bytes: p.bytes ?? null,
      intervalS: p.interval_s ?? before?.intervalS ?? null,
      lag: p.lag ?? null,
    };
    const level = p.result === 'success' ? 'SUCCESS' : p.result === 'failure' ? 'FAILURE' : 'WARNING';
    await ctx.change(jobStateDirCommand());
    await ctx.change(
      `now=$(${NOW_COMMAND}) && printf '%s\\n' ${stateWords(state, ['now']).join(' ')} | ${writeFileCommand(path, { mode: '0600' })}`,
    );
    await ctx.change(`logger -t pef -- ${shQuote(jobLogLine(p.job, level, p.message || p.result))} || true`);
    return { changed: true, value: { state: path, result: p.result } };
  },
});
