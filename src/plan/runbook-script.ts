/**
 * Writes a captured runbook (src/plan/export-plan.ts) as a bash script a change board can read
 * and an operator can run: `set -euo pipefail`, one function per host that runs a command there
 * over ssh as pef does (the inventory's user, port, key and host-key settings; sudo -n for
 * run-as; home as cwd; stdin from /dev/null unless the command has input), one commented
 * section per step with the probes' findings, then its commands in the plan's order.
 *
 * Input is written faithfully: text ending in a newline as a quoted heredoc, other text with
 * printf. A secret is never written: where one appears in a command's input, the script reads an
 * environment variable instead, and refuses to start unless it is set (`: "${PEF_SECRET_X:?…}"`).
 * A secret inside a command line or an env value is not exportable (it would have to be quoted
 * into the remote shell's text): the export fails instead.
 *
 * A value only a real run has (src/task/run-time-value.ts) is kept from the output of the command
 * that prints it in a variable `PEF_VALUE_<NAME>`, checked against the capture's pattern (the
 * script stops otherwise), and put where later commands hold its placeholder.
 */
import { PefError } from '../errors/pef-error.js';
import type { Target } from '../inventory/target.js';
import { envExports } from '../transport/ssh/shell.js';
import { hasRunTimeValue, RUN_TIME_VALUES, SAFE_VALUE } from '../task/run-time-value.js';
import { redact, splitSecrets } from '../util/sensitive.js';
import { shJoin, shQuote } from '../util/shell-quote.js';
import { VERSION } from '../version.js';
import { HOOK_PASSED_ENV } from '../workflow/hooks.js';
import type { RunbookCommand, RunbookDocument } from './export-plan.js';

/** The runbook as bash text; see the file comment. */
export function renderRunbook(doc: RunbookDocument): string {
  const secrets = new SecretNames(doc.secretParams);
  const values = new Map<string, string>();
  const hostFns = new Map([...doc.targets.keys()].map((name) => [name, hostFunctionName(name)]));
  const body: string[] = [];
  for (const [index, step] of doc.steps.entries()) {
    body.push(
      '',
      `# ${'='.repeat(70)}`,
      `# Step ${index + 1}/${doc.steps.length}: ${step.name}${step.description ? ` — ${oneLine(step.description)}` : ''}`,
    );
    if (!step.entries.some((e) => e.kind === 'command')) body.push('# (nothing to change here at export time)');
    body.push(`pef_step ${shQuote(step.name)}`);
    for (const entry of step.entries)
      body.push(
        ...(entry.kind === 'finding'
          ? comment(`found: ${entry.text}`)
          : renderCommand(doc.plan, step.name, entry, hostFns, secrets, values)),
      );
  }
  const hosts = [...doc.targets.values()];
  return [
    '#!/usr/bin/env bash',
    `# pef runbook: plan ${doc.plan} — ${oneLine(doc.description)}`,
    `# Exported ${doc.exportedAt.toISOString()} by pef ${VERSION} from the inventory ${oneLine(doc.inventory)}`,
    `# Parameters: ${oneLine(redact(JSON.stringify(doc.params)))}`,
    '#',
    `# THIS SCRIPT CHANGES HOSTS${hosts.length ? `: ${hosts.map((t) => t.name).join(', ')}` : ''}. Read it before you run it.`,
    '#',
    '# It holds the commands `pef plan run` would send, found by a dry run against the hosts at',
    '# the time above: the probes ran for real (their findings are the "found:" comments), and each',
    '# command that would change a host is below, in order. Limits of an export:',
    '# - The commands fit the hosts as they were then. If they changed since, export again.',
    '# - A command a task decides on from the result of an earlier change is not here: a dry run',
    '#   changes nothing, so it never sees that result. Where a later command only needs a value an',
    '#   earlier one prints (e.g. the checksum of a dump written here), the script keeps that value',
    '#   in a PEF_VALUE_ variable, checks it and fills it in. `pef plan run` also checks what it',
    '#   changed afterwards; this script does not.',
    '# - Where a step needs input only a real run has, or a task cannot preview its commands, the',
    '#   script stops and says so: finish with `pef plan run ... --from <step>`.',
    '# - Command time limits are not applied. The first failing command stops the script (set -e)',
    '#   without the put-back a run does: services a step stopped stay stopped and a lock it took',
    "#   stays held until its holder is ended (the next run's error names it).",
    'set -euo pipefail',
    '',
    ...secrets.requirements(),
    'pef_step() { printf "pef: step %s\\n" "$1" >&2; }',
    '# A command whose exit codes other than 0 also count as success in pef.',
    'pef_allow() { local rc=$1; shift; for c in "$@"; do [ "$rc" -eq "$c" ] && return 0; done; return "$rc"; }',
    'pef_stop() { printf "pef: %s\\n" "$1" >&2; exit 3; }',
    '# A value a command printed, kept for later commands: VALUE PATTERN WHAT; stops unless it fits.',
    `pef_check() { [[ $1 =~ $2 && $1 =~ ${SAFE_VALUE.source} ]] || pef_stop "unexpected $3: \\"$1\\" (stopped before using it)"; }`,
    "# Quotes a command for the host's shell (POSIX single quotes).",
    `pef_q() { local q="'\\\\''"; printf "'%s'" "\${1//\\'/$q}"; }`,
    '',
    '# Runs its one argument on a host as pef does (from the inventory): in its home, with sh -c.',
    ...hosts.map((t) => `${hostFns.get(t.name) ?? ''}() { ${hostCall(t)}; }`),
    ...body,
    '',
    `printf 'pef: runbook of plan %s done\\n' ${shQuote(doc.plan)} >&2`,
    '',
  ]
    .join('\n')
    .replace(/\n\n\n+/g, '\n\n');
}

// The required variable lines come out after the body has named them all.
class SecretNames {
  readonly #names = new Map<string, { name: string; what: string }>();
  readonly #params: ReadonlyMap<string, string>;
  #counter = 0;

  constructor(params: ReadonlyMap<string, string>) {
    this.#params = params;
  }

  nameFor(secret: string, where: string): string {
    let known = this.#names.get(secret);
    if (known === undefined) {
      const param = [...this.#params].find(([, value]) => value === secret)?.[0];
      const name =
        param === undefined
          ? `PEF_SECRET_${++this.#counter}`
          : `PEF_SECRET_${param.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
      known = { name, what: param === undefined ? `a secret first used ${where}` : `the plan parameter ${param}` };
      this.#names.set(secret, known);
    }
    return known.name;
  }

  requirements(): string[] {
    const lines = [...this.#names.values()].map(
      ({ name, what }) => `: "\${${name}:?set ${name} to ${what} (secrets are never written into a runbook)}"`,
    );
    return lines.length === 0
      ? []
      : ['# Secrets come from the environment; the script will not start without them.', ...lines, ''];
  }
}

function renderCommand(
  plan: string,
  step: string,
  entry: RunbookCommand,
  hostFns: ReadonlyMap<string, string>,
  secrets: SecretNames,
  values: Map<string, string>,
): string[] {
  const where = `in step ${step} on ${entry.target}`;
  if (entry.unsupported === true || entry.runTimeInput !== undefined) {
    const why =
      entry.unsupported === true
        ? `${entry.target}: ${entry.command}`
        : `${entry.target}: the next command needs ${entry.runTimeInput}, which only a real run has`;
    return [
      ...comment(`NOT EXPORTABLE: ${why}`),
      ...(entry.unsupported === true ? [] : comment(`The command: ${entry.command}`)),
      `pef_stop ${shQuote(`step ${step} cannot run from a runbook (${why}); finish with: pef plan run ${plan} --from ${step}`)}`,
    ];
  }
  for (const text of [entry.command, ...Object.values(entry.env ?? {})])
    if (redact(text) !== text)
      throw new PefError(
        'pef/validation-error',
        `Step ${step} sends a secret inside a command line or variable ${where}; a runbook cannot carry it safely, so none was written. Run the plan with pef plan run.`,
        { step, target: entry.target },
      );
  const placeholders = [entry.stdin ?? '', ...Object.values(entry.env ?? {})].some(hasRunTimeValue);
  if (placeholders || (entry.local === true && hasRunTimeValue(entry.command)))
    throw new PefError(
      'pef/internal',
      `A run-time value in the input, variables or hook ${where}; only a command line may hold one.`,
      {},
    );
  const run =
    entry.local === true
      ? localRun(entry)
      : `${hostFns.get(entry.target) ?? 'false'} ${withValues(withEnv(entry), values, where)}`;
  const allow = allowed(entry.okExitCodes);
  const lines = entry.local === true ? comment(`on the controller (a hook): ${entry.command}`) : [];
  if (entry.capture !== undefined) {
    if (entry.stdin !== undefined || entry.local === true)
      throw new PefError('pef/internal', `A command with input or a hook cannot give a run-time value ${where}.`, {});
    const { name, pattern, what } = entry.capture;
    const variable = `PEF_VALUE_${name.toUpperCase()}`;
    values.set(name, variable);
    return [
      ...comment(`Keeps what it prints (${what}) for the commands below.`),
      `${variable}=$(${run} </dev/null)${allow}`,
      `pef_check "$${variable}" ${shQuote(`^(${pattern})$`)} ${shQuote(what)}`,
    ];
  }
  if (entry.stdin === undefined) return [...lines, `${run} </dev/null${allow}`];
  return [...lines, ...withInput(entry.stdin, `${run}${allow}`, secrets, where)];
}

// The command as one word for the host function; each run-time placeholder becomes the variable
// an earlier command's output was kept in (closing and reopening the quotes around it).
function withValues(command: string, values: ReadonlyMap<string, string>, where: string): string {
  if (!hasRunTimeValue(command)) return shQuote(command);
  return `'${command.replace(/'/g, `'\\''`)}'`.replace(RUN_TIME_VALUES, (_, name: string) => {
    const variable = values.get(name);
    if (variable === undefined)
      throw new PefError(
        'pef/internal',
        `A command ${where} uses the run-time value ${name}, which no earlier command of the plan prints.`,
        { value: name },
      );
    return `'"$${variable}"'`;
  });
}

// A command with its input: a heredoc (text ending in a newline), printf (other text), or
// printf pieces around environment variables where the input holds secrets.
function withInput(stdin: string, run: string, secrets: SecretNames, where: string): string[] {
  if (stdin.includes('\0'))
    throw new PefError(
      'pef/validation-error',
      `The input of a command ${where} holds a NUL byte; a runbook cannot carry it.`,
      {},
    );
  const parts = splitSecrets(stdin);
  if (parts.some((p) => typeof p !== 'string')) {
    const pieces = parts.map((p) =>
      typeof p === 'string' ? `printf '%s' ${shQuote(p)}` : `printf '%s' "$${secrets.nameFor(p.secret, where)}"`,
    );
    return [`{ ${pieces.join('; ')}; } | ${run}`];
  }
  if (!stdin.endsWith('\n')) return [`printf '%s' ${shQuote(stdin)} | ${run}`];
  const lines = stdin.slice(0, -1).split('\n');
  let eof = 'PEF_INPUT';
  for (let i = 2; lines.includes(eof); i++) eof = `PEF_INPUT_${i}`;
  return [`${run} <<'${eof}'`, ...lines, eof];
}

function allowed(codes: readonly number[] | undefined): string {
  if (codes === undefined || (codes.length === 1 && codes[0] === 0)) return '';
  if (codes.length >= 256) return ' || true';
  return ` || pef_allow $? ${codes.filter((c) => c !== 0).join(' ')}`;
}

// ssh as pef's transport connects: the same user, port, key and host-key check. A key given
// inline in the inventory, or a password, cannot be written here: ssh then uses the agent (or
// asks). On the host, as pef's transport runs a command: home (or /) as cwd, `sh -c`, through
// sudo -n for a run-as user (a script cannot answer a sudo password prompt safely, so a sudo
// that wants one stops the script).
function hostCall(target: Target): string {
  const { runAs, ...ssh } = target.config.ssh;
  const sudo = runAs === undefined || runAs === '' || runAs === ssh.user ? '' : `sudo -n -H -u ${shQuote(runAs)} -- `;
  const remote = `"cd \\"\\$HOME\\" 2>/dev/null || cd /; exec ${sudo}sh -c $(pef_q "$1")"`;
  if (target.config.transport === 'local') return `sh -c ${remote}`;
  const words = ['ssh', '-p', String(ssh.port)];
  if (ssh.privateKey !== undefined && 'path' in ssh.privateKey)
    words.push('-i', ssh.privateKey.path, '-o', 'IdentitiesOnly=yes');
  if (ssh.password === undefined) words.push('-o', 'BatchMode=yes');
  words.push('-o', `ConnectTimeout=${ssh.connectTimeout}`);
  if (ssh.hostKeyCheck) {
    words.push('-o', 'StrictHostKeyChecking=yes');
    if (ssh.knownHosts !== undefined) words.push('-o', `UserKnownHostsFile=${ssh.knownHosts}`);
  } else words.push('-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null');
  words.push(`${ssh.user}@${ssh.host}`, '--');
  return `${shJoin(words)} ${remote}`;
}

// A command's own variables, exported before it as pef's transport does.
function withEnv(entry: RunbookCommand): string {
  const exports = envExports(entry.env);
  return exports === '' ? entry.command : `${exports}; ${entry.command}`;
}

// A hook, as pef runs it: a clean environment (never this script's, which holds the secrets),
// in the directory pef would start it in.
function localRun(entry: RunbookCommand): string {
  const passed = HOOK_PASSED_ENV.map((name) => `${name}="\${${name}:-}"`).join(' ');
  const env = Object.entries(entry.env ?? {}).map(([k, v]) => shQuote(`${k}=${v}`));
  const cd = entry.cwd === undefined ? '' : `cd ${shQuote(entry.cwd)} && `;
  return `(${cd}env -i ${passed} ${env.join(' ')} sh -c ${shQuote(entry.command)})`;
}

function hostFunctionName(name: string): string {
  return `on_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
}

function comment(text: string): string[] {
  return redact(text)
    .split('\n')
    .map((line) => `# ${line}`.trimEnd());
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
