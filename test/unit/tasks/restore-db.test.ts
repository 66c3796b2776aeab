/**
 * restore_db against a small model of a replica (services, databases, the lock), answering the
 * commands the task sends as the exported builders spell them: the restore, a restart that
 * fails (the task fails naming the service and the command, everything else started again), a
 * stop that errors (the service is still started again), a lock held by a live holder or left
 * by a dead one, and Ctrl-C in the middle (no command after it but the cleanup, which runs).
 */
import { describe, expect, it } from '@jest/globals';
import { DISCOVER_SCRIPT, followUpScript, parseDiscovery } from '../../../src/host/discover.js';
import { sha256Command } from '../../../src/host/files.js';
import { serviceCommand } from '../../../src/host/services.js';
import {
  asSuperuser,
  copyForRestoreCommand,
  DATABASE_DEFAULTS,
  databaseStateSql,
  latestDumpCommand,
  psqlCommand,
  restoreNames,
  SHIPPED_DUMP_DIR,
} from '../../../src/puppet/databases.js';
import { lockAcquireCommand, lockReleaseCommand } from '../../../src/host/lock.js';
import { replicationStateCommand } from '../../../src/puppet/mode.js';
import { Cancellation } from '../../../src/runtime/cancellation.js';
import { runTask } from '../../../src/task/run-task.js';
import type { CommandOptions } from '../../../src/transport/transport.js';
import { dumpChecksumToCome } from '../../../src/puppet/db-restore-phases.js';
import { runTimeValue } from '../../../src/task/run-time-value.js';
import { restoreDb } from '../../../tasks/restore-db.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const HOST = 'replica.lab';
const SHA = 'a'.repeat(64);
const FILE = 'puppetdb-20250101T000000000Z.dump';
/** A dump the model does not hold: one a dry run's dump_db only previewed. */
const LATER = 'puppetdb-20250102T000000000Z.dump';
const DUMP = `${SHIPPED_DUMP_DIR}/puppetdb/${FILE}`;
const PG = { bin: '/usr/lib/postgresql/15/bin', superuser: 'postgres' };
const NAMES = ['puppetdb', restoreNames('puppetdb').next, restoreNames('puppetdb').previous];
const DISCOVERY = [
  'service_manager=lab',
  'flavor=oss',
  'service.puppet=1,1',
  'service.puppetserver=1,0',
  'service.puppetdb=1,1',
  'service.postgresql=1,1',
  `postgres.bin=${PG.bin}`,
  'postgres.superuser=postgres',
  'postgres.databases=postgres,puppetdb',
].join('\n');

interface World {
  running: Set<string>;
  databases: Set<string>;
  lock: 'free' | 'busy' | 'stale';
  lockHeld: boolean;
  /** Service whose start fails (exit 1) and stays down. */
  failStart?: string;
  /** Service whose stop errors (exit 1) although it stopped. */
  failStop?: string;
  /** Called before each command, to cancel in the middle. */
  before?: (command: string) => void;
}

function world(initial: Partial<World> = {}): World {
  return {
    running: new Set(['puppet', 'puppetdb', 'postgresql']),
    databases: new Set(['postgres', 'puppetdb']),
    lock: 'free',
    lockHeld: false,
    ...initial,
  };
}

function handler(w: World) {
  const followUp = followUpScript(parseDiscovery(DISCOVERY));
  let token = '';
  return (_target: string, command: string, _options: CommandOptions) => {
    w.before?.(command);
    if (command === DISCOVER_SCRIPT) return { stdout: DISCOVERY };
    if (command === followUp) return { stdout: 'has_ca=false\n' };
    if (command === replicationStateCommand()) return { stdout: '' };
    if (command === latestDumpCommand(SHIPPED_DUMP_DIR, 'puppetdb'))
      return { stdout: `file=${FILE}\nexpected=${SHA}\nsize=42\n` };
    if (command === latestDumpCommand(SHIPPED_DUMP_DIR, 'puppetdb', FILE))
      return { stdout: `file=${FILE}\nexpected=${SHA}\nsize=42\n` };
    if (command === latestDumpCommand(SHIPPED_DUMP_DIR, 'puppetdb', LATER)) return { stdout: '' };
    if (command === sha256Command(DUMP)) return { stdout: `${SHA}\n` };
    if (command.includes('/pg_restore') && command.includes(' -s -f - '))
      return { stdout: 'ALTER TABLE public.certnames OWNER TO puppetdb;\n' };
    if (command === psqlCommand(PG, [databaseStateSql(NAMES)]) || command.includes('FROM pg_database WHERE datname IN'))
      return {
        stdout: [...w.databases]
          .filter((d) => d.startsWith('puppetdb'))
          .map((d) => `${d}|puppetdb|`)
          .join('\n'),
      };
    const acquire = / (pef-[0-9a-f]{12}) \d+ </.exec(command);
    if (acquire && command === lockAcquireCommand(DATABASE_DEFAULTS.lock, DATABASE_DEFAULTS.lockSeconds, acquire[1]!)) {
      token = acquire[1]!;
      if (w.lock === 'busy') return { stdout: 'busy=777 2025-01-01T00:00:00Z pef-other\n' };
      w.lockHeld = true;
      return { stdout: `locked=4242\n${w.lock === 'stale' ? 'stale=555 2024-12-31T00:00:00Z pef-dead\n' : ''}` };
    }
    if (token && command === lockReleaseCommand(DATABASE_DEFAULTS.lock, token)) {
      w.lockHeld = false;
      return { stdout: 'released=1\n' };
    }
    if (command === copyForRestoreCommand(PG, DUMP, DATABASE_DEFAULTS.workDir, 'puppetdb.dump'))
      return { stdout: `${SHA}\n` };
    if (command.includes('SELECT rolname FROM pg_roles')) return { stdout: 'puppetdb\n' };
    for (const service of ['puppet', 'puppetserver', 'puppetdb', 'postgresql']) {
      if (command === serviceCommand('lab', 'stop', service)) {
        w.running.delete(service);
        return w.failStop === service ? { exitCode: 1, stderr: `${service}: stop timed out` } : {};
      }
      if (command === serviceCommand('lab', 'start', service)) {
        if (w.failStart === service) return { exitCode: 1, stderr: `${service}: failed to start` };
        w.running.add(service);
        return {};
      }
      if (command === serviceCommand('lab', 'status', service)) return { exitCode: w.running.has(service) ? 0 : 3 };
    }
    if (command.startsWith(asSuperuser(PG, 'pg_restore', ['--exit-on-error']).split(' --exit-on-error')[0]!)) return {};
    if (command.includes('CREATE DATABASE')) {
      w.databases.add(restoreNames('puppetdb').next);
      return {};
    }
    if (command.includes('RENAME TO')) {
      w.databases.delete(restoreNames('puppetdb').next);
      return {};
    }
    if (command.includes('DROP DATABASE')) return {};
    if (command.startsWith('rm -f -- ')) return {};
    return { exitCode: 127, stderr: `fake replica: unexpected command ${command.slice(0, 120)}` };
  };
}

async function restore(
  w: World,
  params: Record<string, unknown> = { force: true },
  cancellation?: Cancellation,
  noop = false,
) {
  const fake = fakeRuntime([fakeTarget(HOST)], handler(w), { ...(cancellation ? { cancellation } : {}), noop });
  const set = await runTask(fake.runtime, restoreDb, [fakeTarget(HOST)], params);
  const recorded = fake.events.flatMap((e) => (e.type === 'noop-command' ? [e] : []));
  return { result: set.results[0]!, sent: fake.sent.map((s) => s.command), recorded };
}

describe('restore_db (model of a replica)', () => {
  it('restores: stops the running consumers, swaps, starts them again (checked), releases the lock', async () => {
    const w = world();
    const { result, sent } = await restore(w);
    expect(result.error).toBeUndefined();
    expect(result.value).toMatchObject({
      stopped_and_started: ['puppetdb', 'puppet'],
      databases: [{ restored: true }],
    });
    expect(sent).toContain(serviceCommand('lab', 'status', 'puppetdb'));
    expect([...w.running].sort()).toEqual(['postgresql', 'puppet', 'puppetdb']);
    expect(w.lockHeld).toBe(false);
  });

  it('restores the dump dump_files names, and refuses a name that is not a dump of that database', async () => {
    const named = await restore(world(), { dump_files: { puppetdb: FILE } });
    expect(named.result.error).toBeUndefined();
    expect(named.result.value).toMatchObject({ databases: [{ restored: true }] });
    expect(named.sent).toContain(copyForRestoreCommand(PG, DUMP, DATABASE_DEFAULTS.workDir, 'puppetdb.dump'));
    const absent = await restore(world(), { dump_files: { puppetdb: LATER } });
    expect(absent.result.error?.msg).toContain(`No complete dump of puppetdb named ${LATER} in`);
    const wrong = await restore(world(), { dump_files: { 'pe-rbac': FILE } });
    expect(wrong.result.error?.msg).toMatch(
      /dump_files names .* for pe-rbac, which is not one of the databases restored/,
    );
    expect(wrong.sent.some((c) => c.includes('pg_restore'))).toBe(false);
  });

  it('in a dry run, previews the restore of a dump not written yet: the copy gives its checksum to the swap', async () => {
    const { result, sent, recorded } = await restore(world(), { dump_files: { puppetdb: LATER } }, undefined, true);
    expect(result.error).toBeUndefined();
    const copy = recorded.find((e) => e.command.includes(`${SHIPPED_DUMP_DIR}/puppetdb/${LATER}`));
    expect(copy?.capture).toEqual(dumpChecksumToCome('puppetdb'));
    const placeholder = runTimeValue(dumpChecksumToCome('puppetdb').name);
    const swap = recorded.find((e) => e.command.includes('COMMENT ON DATABASE'));
    expect(swap?.command).toContain(`pef-restore sha256=${placeholder} file=${LATER}`);
    expect(recorded.indexOf(copy!)).toBeLessThan(recorded.indexOf(swap!));
    // Only reads were sent, none with a placeholder.
    expect(sent.some((c) => c.includes('@@pef:') || c.includes('pg_restore --exit-on-error'))).toBe(false);
  });

  it('a service that does not start again fails the task, naming it and the command; the others are started', async () => {
    const w = world({ failStart: 'puppetdb' });
    const { result } = await restore(w);
    expect(result.status).toBe('failure');
    expect(result.error?.msg).toMatch(
      /restore_db on replica\.lab restored puppetdb, but: services puppet running again \(checked\); NOT RUNNING: puppetdb: .*failed to start.*\(run `pef-lab-service start puppetdb`\)/,
    );
    expect(result.error?.details).toMatchObject({ lock_released: true });
    expect(w.running.has('puppet')).toBe(true);
    expect(w.lockHeld).toBe(false);
  });

  it('a stop that errors still gets its service started again', async () => {
    const w = world({ failStop: 'puppetdb' });
    const { result } = await restore(w);
    expect(result.error?.msg).toMatch(/failed while stopping puppetdb: .*stop timed out/s);
    expect(result.error?.msg).toMatch(/services puppetdb, puppet running again \(checked\)/);
    expect(result.error?.msg).toMatch(/lock released \(checked\)/);
    expect([...w.running].sort()).toEqual(['postgresql', 'puppet', 'puppetdb']);
    expect(w.lockHeld).toBe(false);
  });

  it('refuses while a live holder has the lock, changing nothing', async () => {
    const w = world({ lock: 'busy' });
    const { result, sent } = await restore(w);
    expect(result.error?.msg).toMatch(/Another restore is running on replica\.lab \(pid 777, .*kill 777/);
    expect(sent.some((c) => c.includes(' stop '))).toBe(false);
  });

  it('takes over a stale lock (its holder gone) with a log line', async () => {
    const w = world({ lock: 'stale' });
    const fake = fakeRuntime([fakeTarget(HOST)], handler(w));
    const set = await runTask(fake.runtime, restoreDb, [fakeTarget(HOST)], { force: true });
    expect(set.results[0]!.error).toBeUndefined();
    expect(fake.events).toContainEqual(
      expect.objectContaining({
        type: 'message',
        text: expect.stringMatching(/took over a stale restore lock .*pef-dead/),
      }),
    );
  });

  it('Ctrl-C after the services stopped: no further command but the cleanup, which starts them and releases the lock', async () => {
    const w = world();
    const cancellation = new Cancellation(0);
    let cancelledAt = -1;
    let count = 0;
    w.before = (command) => {
      count++;
      if (cancelledAt < 0 && command === serviceCommand('lab', 'stop', 'puppet')) {
        cancellation.cancel('SIGINT');
        cancelledAt = count;
      }
    };
    const { result, sent } = await restore(w, { force: true }, cancellation);
    expect(result.error?.kind).toBe('pef/cancelled');
    expect(result.error?.msg).toMatch(/restore_db on replica\.lab was interrupted while stopping puppet/);
    expect(result.error?.msg).toMatch(/services puppetdb, puppet running again \(checked\).*lock released \(checked\)/);
    const after = sent.slice(cancelledAt);
    expect(after.some((c) => c.includes('pg_restore') || c.includes('CREATE DATABASE'))).toBe(false);
    expect(after).toContain(serviceCommand('lab', 'start', 'puppetdb'));
    expect([...w.running].sort()).toEqual(['postgresql', 'puppet', 'puppetdb']);
    expect(w.lockHeld).toBe(false);
    expect(cancellation.attention()).toEqual([]);
  });
});
