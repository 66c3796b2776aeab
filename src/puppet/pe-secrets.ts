/**
 * PE's secret files as copy_secrets handles them: which files, which services read them, the
 * read-only probe (sha256 and owner:group:mode, never content) and its parser, the per-file plan,
 * and the root-safe read/write commands. Separate from tasks/copy-secrets.ts so the task holds
 * only the orchestration (tasks import from src/; the domain helpers live here).
 */
import { makeDirCommand, writeFileCommand } from '../host/files.js';
import { shQuote } from '../util/shell-quote.js';

/** PE's files a replica needs from its primary (PE DR docs; peadm's add_replica). */
export const PE_SECRET_FILES: readonly string[] = [
  '/etc/puppetlabs/orchestration-services/conf.d/secrets/keys.json',
  '/etc/puppetlabs/orchestration-services/conf.d/secrets/orchestrator-encryption-keys.json',
  '/etc/puppetlabs/console-services/conf.d/secrets/keys.json',
  '/etc/puppetlabs/puppet/hiera.yaml',
];

/** Which files may be missing on the primary by default (skipped with a note). */
export const OPTIONAL_SECRET_FILES: readonly string[] = ['/etc/puppetlabs/puppet/hiera.yaml'];

// The services that read each file, and how they pick up a new copy.
const READERS: readonly { prefix: string; service: string; action: 'restart' | 'reload' }[] = [
  { prefix: '/etc/puppetlabs/orchestration-services/', service: 'pe-orchestration-services', action: 'restart' },
  { prefix: '/etc/puppetlabs/console-services/', service: 'pe-console-services', action: 'restart' },
  // A HUP restarts Puppet Server's JRuby pools, which reread the global hiera.yaml.
  { prefix: '/etc/puppetlabs/puppet/hiera.yaml', service: 'pe-puppetserver', action: 'reload' },
];

/** The service that reads `path` and how it picks a new copy up, if pef knows one. */
export function readerOf(path: string): { service: string; action: 'restart' | 'reload' } | undefined {
  const hit = READERS.find((r) => path === r.prefix || (r.prefix.endsWith('/') && path.startsWith(r.prefix)));
  return hit === undefined ? undefined : { service: hit.service, action: hit.action };
}

/** Owner, group and mode (octal digits as `stat -c %a` prints them) of a file or directory. */
export interface FileAttrs {
  owner: string;
  group: string;
  mode: string;
}

/** A path on one host, as the probe saw it. */
export type FileState = ({ kind: 'file'; sha256: string } & FileAttrs) | { kind: 'missing' } | { kind: 'other' };

/** What the probe saw on one host: the files and every ancestor directory (null: missing). */
export interface SecretsProbe {
  files: Map<string, FileState>;
  dirs: Map<string, FileAttrs | null>;
}

/** `/a/b/c/f` → `['/a', '/a/b', '/a/b/c']`. */
export function ancestorDirs(path: string): string[] {
  const parts = path.split('/').filter(Boolean).slice(0, -1);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/** A read-only probe printing, per file, its sha256 and owner:group:mode (never content), and per ancestor dir its attributes. */
export function secretsProbeCommand(paths: readonly string[]): string {
  const dirs = [...new Set(paths.flatMap(ancestorDirs))];
  const stat = `stat -L -c '%U:%G:%a'`;
  return [
    `for p in ${paths.map(shQuote).join(' ')}; do`,
    `  if [ -f "$p" ]; then printf 'F\\t%s\\t%s\\t%s\\n' "$p" "$(sha256sum < "$p" 2>/dev/null | cut -c1-64)" "$(${stat} "$p")";`,
    `  elif [ -e "$p" ]; then printf 'O\\t%s\\n' "$p"; else printf 'M\\t%s\\n' "$p"; fi`,
    'done',
    ...(dirs.length
      ? [
          `for d in ${dirs.map(shQuote).join(' ')}; do`,
          `  if [ -d "$d" ]; then printf 'D\\t%s\\t%s\\n' "$d" "$(${stat} "$d")"; else printf 'N\\t%s\\n' "$d"; fi`,
          'done',
        ]
      : []),
  ].join('\n');
}

/** Reads `secretsProbeCommand` output. */
export function parseSecretsProbe(stdout: string): SecretsProbe {
  const files = new Map<string, FileState>();
  const dirs = new Map<string, FileAttrs | null>();
  for (const line of stdout.split('\n')) {
    const [tag, path, ...rest] = line.split('\t');
    if (path === undefined) continue;
    if (tag === 'F') files.set(path, { kind: 'file', sha256: rest[0] ?? '', ...attrs(rest[1]) });
    else if (tag === 'M') files.set(path, { kind: 'missing' });
    else if (tag === 'O') files.set(path, { kind: 'other' });
    else if (tag === 'D') dirs.set(path, attrs(rest[0]));
    else if (tag === 'N') dirs.set(path, null);
  }
  return { files, dirs };
}

function attrs(text: string | undefined): FileAttrs {
  const [owner = '', group = '', mode = ''] = (text ?? '').trim().split(':');
  return { owner, group, mode };
}

/** What to do with one file. */
export interface FilePlan {
  path: string;
  action: 'copy' | 'attributes' | 'unchanged' | 'skip';
  /** The primary's file (absent when skipped). */
  source?: { kind: 'file'; sha256: string } & FileAttrs;
  /** Directories to create on the replica first, outermost first, with the primary's attributes. */
  createDirs: { path: string; attrs: FileAttrs }[];
  note?: string;
}

/** Compares both ends; `problems` (missing required files, unreadable, not regular) stop the task before any change. */
export function planSecretCopy(
  paths: readonly string[],
  optional: readonly string[],
  source: SecretsProbe,
  dest: SecretsProbe,
  hosts: { source: string; dest: string },
): { plans: FilePlan[]; problems: string[] } {
  const plans: FilePlan[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    const src = source.files.get(path) ?? { kind: 'missing' };
    const dst = dest.files.get(path) ?? { kind: 'missing' };
    if (src.kind === 'missing') {
      if (optional.includes(path))
        plans.push({ path, action: 'skip', createDirs: [], note: `not on ${hosts.source}; skipped (optional)` });
      else
        problems.push(
          `${path} does not exist on ${hosts.source}${path.endsWith('orchestrator-encryption-keys.json') ? ' (PE before 2021 has none: add it to optional)' : ''}`,
        );
      continue;
    }
    if (src.kind === 'other') {
      problems.push(`${path} on ${hosts.source} is not a regular file`);
      continue;
    }
    if (!/^[0-9a-f]{64}$/.test(src.sha256) || !src.owner || !/^[0-7]{3,4}$/.test(src.mode)) {
      problems.push(`${path} on ${hosts.source} could not be read (no digest or attributes)`);
      continue;
    }
    if (dst.kind === 'other') {
      problems.push(`${path} on ${hosts.dest} exists but is not a regular file; move it away`);
      continue;
    }
    if (dst.kind === 'file' && dst.sha256 === src.sha256) {
      const same =
        dst.owner === src.owner &&
        dst.group === src.group &&
        Number.parseInt(dst.mode, 8) === Number.parseInt(src.mode, 8);
      plans.push({ path, action: same ? 'unchanged' : 'attributes', source: src, createDirs: [] });
      continue;
    }
    const createDirs = ancestorDirs(path)
      .filter((d) => dest.dirs.get(d) === null)
      .map((d) => ({ path: d, attrs: source.dirs.get(d) ?? { owner: 'root', group: 'root', mode: '755' } }));
    plans.push({ path, action: 'copy', source: src, createDirs });
  }
  return { plans, problems };
}

/** Sets owner, group and mode of an existing file: re-written root-safely with its own content (src/host/files.ts). */
export function fixAttributesCommand(path: string, a: FileAttrs): string {
  return writeFileCommand(path, { owner: a.owner, group: a.group, mode: a.mode }, { content: 'existing' });
}

/**
 * Writes base64 from stdin to `path` root-safely (src/host/files.ts: a root-only temp beside it,
 * owner and mode set before the rename, a symlink refused, the temp removed on failure), after
 * creating missing parents with the primary's attributes.
 */
export function writeSecretCommand(
  path: string,
  a: FileAttrs,
  createDirs: readonly { path: string; attrs: FileAttrs }[],
): string {
  // makeDirCommand accepts an existing directory: files sharing a missing parent each list it.
  const mkdirs = createDirs.map((d) => `${makeDirCommand(d.path, d.attrs)} && `);
  return `${mkdirs.join('')}${writeFileCommand(path, { owner: a.owner, group: a.group, mode: a.mode }, { content: 'base64' })}`;
}

/** Prints the file as one base64 line; read only over the raw connection (see the file comment). */
export function readSecretCommand(path: string): string {
  return `base64 -w0 ${shQuote(path)}`;
}

/** `0640` from `640`. */
export function octalMode(mode: string): string {
  return mode.padStart(4, '0');
}
