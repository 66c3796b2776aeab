/**
 * What `status` reads on one Puppet server, in one read-only round trip: its flavor and clock,
 * its mode and kill-switch (src/puppet/mode.ts), every replication job's state file
 * (src/replication/job-state.ts), whether Puppet Server answers on 8140 (its own and the peer's,
 * asked from this host with its own certificate and CA, because the controller often cannot reach
 * 8140), the CA's serial and inventory, a digest of the code (environments/), and puppetdb.conf.
 *
 * The probe prints `@@pef <section> [<name>]` lines and, between them, the section's text; the
 * `facts` section is `key=value` (src/util/key-value.ts). State files are read like
 * readRegularFileCommand does (no symbolic link, only regular files, `dd iflag=nofollow`), inside
 * a state directory entered by its physical path, so a planted link is reported, never followed.
 */
import { PefError } from '../errors/pef-error.js';
import { parseReplicationState, replicationStateCommand, type ReplicationState } from '../puppet/mode.js';
import { puppetdbBroadcast } from '../puppet/puppetdb-conf.js';
import { parseKeyValues } from '../util/key-value.js';
import { shQuote } from '../util/shell-quote.js';
import { JOB_STATE_DIR, parseJobState, type JobState } from './job-state.js';

/** Puppet Server's port. */
export const PUPPETSERVER_PORT = 8140;

/** How long one 8140 check may take, in seconds (connect, total). */
export const ANSWER_TIMEOUTS_S = { connect: 3, total: 5 } as const;

/** What to probe besides the host's own state. */
export interface StatusProbeOptions {
  /** The pair's servers, by the names their certificates carry: each is asked for /status/v1/simple. */
  servers: readonly string[];
  /** Also print the digest of the CA inventory's first N lines (to tell whether a shorter one is its prefix). */
  caPrefixLines?: number;
}

/** One state file as the probe found it. */
export interface ProbedJob {
  file: string;
  /** null: the file was refused (a link, not a regular file), unreadable, or names no job. */
  state: JobState | null;
  problem: string | null;
}

/** Whether a server answered /status/v1/simple, and what it said. */
export interface ProbedAnswer {
  answers: boolean;
  detail: string;
}

/** What the probe found on one host. */
export interface StatusProbe {
  flavor: 'oss' | 'pe';
  /** The host's clock (seconds since the epoch): ages are taken against it, not the controller's. */
  now: number | null;
  certname: string | null;
  replication: ReplicationState;
  /** present, absent (no job ever ran here) or unsafe (a link or not a directory). */
  stateDir: 'present' | 'absent' | 'unsafe';
  jobs: ProbedJob[];
  answers: Record<string, ProbedAnswer>;
  ca: { serial: string | null; count: number | null; digest: string | null; prefixDigest: string | null };
  /** Digest of environments/ (null: none there or unreadable). */
  codeDigest: string | null;
  puppetdb: { serverUrls: string[]; commandBroadcast: boolean } | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;

/** The probe's shell text; read its output with parseStatusProbe. Read-only. */
export function statusProbeCommand(options: StatusProbeOptions): string {
  for (const server of options.servers)
    if (!NAME.test(server))
      throw new PefError('pef/validation-error', `Not a server name: ${JSON.stringify(server)}`, { server });
  const prefix = options.caPrefixLines;
  const dir = shQuote(JOB_STATE_DIR);
  return `
PATH=/opt/puppetlabs/bin:/opt/puppetlabs/puppet/bin:$PATH:/usr/sbin:/sbin
r() { dd if="$1" iflag=nofollow status=none 2>/dev/null; }
echo '@@pef facts'
echo "now=$(date -u +%s)"
[ -r /opt/puppetlabs/server/pe_version ] && echo flavor=pe || echo flavor=oss
cfg=$(puppet config print certname hostcert hostprivkey localcacert cadir codedir confdir --section server 2>/dev/null)
v() { printf '%s\\n' "$cfg" | sed -n "s/^$1 = //p" | head -n 1; }
certname=$(v certname); cadir=$(v cadir); codedir=$(v codedir); confdir=$(v confdir)
echo "certname=$certname"
if [ -L ${dir} ] || { [ -e ${dir} ] && [ ! -d ${dir} ]; }; then echo state_dir=unsafe
elif [ -d ${dir} ]; then echo state_dir=present
  (cd -P -- ${dir} 2>/dev/null && [ "$(pwd -P)" = ${dir} ] || { echo '@@pef facts'; echo state_dir=unsafe; exit 0; }
   for f in *.state; do
     { [ -e "$f" ] || [ -L "$f" ]; } || continue
     if [ -L "$f" ] || [ ! -f "$f" ]; then echo "@@pef refused $f"; continue; fi
     echo "@@pef job $f"; r "$f" || echo "@@pef unreadable $f"; echo
   done)
  echo '@@pef facts'
else echo state_dir=absent; fi
${options.servers
  .map(
    (s) =>
      `echo "answer.${s}=$(curl -sS --connect-timeout ${ANSWER_TIMEOUTS_S.connect} --max-time ${ANSWER_TIMEOUTS_S.total} --cacert "$(v localcacert)" --cert "$(v hostcert)" --key "$(v hostprivkey)" -w ' http=%{http_code}' ${shQuote(`https://${s}:${PUPPETSERVER_PORT}/status/v1/simple`)} 2>&1 | tr -s ' \\n' '  ' | cut -c1-240)"`,
  )
  .join('\n')}
if [ -n "$cadir" ] && [ -d "$cadir" ]; then
  echo "ca.serial=$(r "$cadir/serial" | head -c 64 | tr -d ' \\n')"
  if [ -f "$cadir/inventory.txt" ] && [ ! -L "$cadir/inventory.txt" ]; then
    echo "ca.count=$(r "$cadir/inventory.txt" | wc -l)"
    echo "ca.digest=$(r "$cadir/inventory.txt" | sha256sum | cut -c1-64)"
${prefix === undefined ? '' : `    echo "ca.prefix_digest=$(r "$cadir/inventory.txt" | head -n ${Math.trunc(prefix)} | sha256sum | cut -c1-64)"`}
  fi
fi
if [ -n "$codedir" ] && [ -d "$codedir/environments" ]; then
  echo "code.digest=$(cd -P -- "$codedir/environments" && find . \\( -name .git -o -name .r10k-deploy.json \\) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-64)"
fi
if [ -n "$confdir" ] && [ -f "$confdir/puppetdb.conf" ] && [ ! -L "$confdir/puppetdb.conf" ]; then
  echo '@@pef puppetdb.conf'; r "$confdir/puppetdb.conf"; echo
fi
echo '@@pef mode'
${replicationStateCommand()}
`;
}

/** Reads statusProbeCommand's output. */
export function parseStatusProbe(stdout: string): StatusProbe {
  const facts: string[] = [];
  const jobs: ProbedJob[] = [];
  let puppetdbConf: string | null = null;
  let mode = '';
  let current: { kind: string; name: string; lines: string[] } | null = null;
  const close = (): void => {
    if (!current) return;
    const text = current.lines.join('\n');
    if (current.kind === 'facts') facts.push(text);
    else if (current.kind === 'puppetdb.conf') puppetdbConf = text;
    else if (current.kind === 'mode') mode = text;
    else if (current.kind === 'job') {
      const state = parseJobState(text);
      jobs.push({
        file: current.name,
        state,
        problem: state ? null : 'it names no job (empty or not a pef state file)',
      });
    } else if (current.kind === 'refused')
      jobs.push({ file: current.name, state: null, problem: 'a symbolic link or not a regular file, refused' });
  };
  for (const line of stdout.split('\n')) {
    const mark = /^@@pef (\S+)(?: (.*))?$/.exec(line);
    if (!mark) {
      current?.lines.push(line);
      continue;
    }
    const [, kind = '', name = ''] = mark;
    if (kind === 'unreadable') {
      close();
      current = null;
      const job = jobs.find((j) => j.file === name);
      if (job) Object.assign(job, { state: null, problem: 'unreadable' });
      continue;
    }
    close();
    current = { kind, name, lines: [] };
  }
  close();
  const kv = parseKeyValues(facts.join('\n'));
  const text = (key: string): string | null => kv.get(key) || null;
  const num = (key: string): number | null => (/^\d+$/.test(kv.get(key) ?? '') ? Number(kv.get(key)) : null);
  const answers: Record<string, ProbedAnswer> = {};
  for (const [key, value] of kv)
    if (key.startsWith('answer.')) {
      // /status/v1/simple says `running` with 200 when Puppet Server is up.
      answers[key.slice('answer.'.length)] = { answers: /^running http=200$/.test(value), detail: value };
    }
  const stateDir = kv.get('state_dir');
  return {
    flavor: kv.get('flavor') === 'pe' ? 'pe' : 'oss',
    now: num('now'),
    certname: text('certname'),
    replication: parseReplicationState(mode),
    stateDir: stateDir === 'present' || stateDir === 'absent' ? stateDir : 'unsafe',
    jobs,
    answers,
    ca: {
      serial: text('ca.serial'),
      count: num('ca.count'),
      digest: text('ca.digest'),
      prefixDigest: text('ca.prefix_digest'),
    },
    codeDigest: text('code.digest'),
    puppetdb: puppetdbConf === null ? null : puppetdbBroadcast(puppetdbConf),
  };
}
