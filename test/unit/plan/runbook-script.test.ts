import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import type { Target } from '../../../src/inventory/target.js';
import type { RunbookDocument, RunbookStep } from '../../../src/plan/export-plan.js';
import { renderRunbook } from '../../../src/plan/runbook-script.js';
import { runTimeValue } from '../../../src/task/run-time-value.js';
import { registerSecret } from '../../../src/util/sensitive.js';

function sshTarget(name: string, ssh: Partial<Target['config']['ssh']> = {}): Target {
  return {
    name,
    aliases: [],
    groups: [],
    vars: {},
    facts: {},
    config: {
      transport: 'ssh',
      ssh: { host: '127.0.20.2', port: 2222, user: 'admin', hostKeyCheck: true, connectTimeout: 10, ...ssh },
    },
  };
}

function doc(steps: RunbookStep[], targets: Target[]): RunbookDocument {
  return {
    plan: 'sync',
    description: 'one pass',
    params: {},
    secretParams: new Map(),
    inventory: '/srv/pef/inventory.yaml',
    exportedAt: new Date('2026-12-03T07:00:00Z'),
    steps,
    targets: new Map(targets.map((t) => [t.name, t])),
  };
}

const bashN = (script: string) => spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });

describe('renderRunbook', () => {
  it('reaches each host with the inventory’s user, port, key, host keys and run-as', () => {
    const primary = sshTarget('primary.lab', {
      privateKey: { path: '/root/.ssh/pef key' },
      knownHosts: '/srv/pef/known_hosts',
      runAs: 'root',
    });
    const open = sshTarget('replica.lab', { hostKeyCheck: false, user: 'root' });
    const script = renderRunbook(
      doc(
        [
          {
            name: 'ca',
            description: 'the CA',
            entries: [
              { kind: 'command', target: 'primary.lab', command: 'rsync -a /ca/ x:/in/', okExitCodes: [0, 24] },
              { kind: 'command', target: 'replica.lab', command: 'install-ca', env: { LC_ALL: 'C' } },
              {
                kind: 'command',
                target: 'replica.lab',
                command: 'probe',
                okExitCodes: Array.from({ length: 256 }, (_, i) => i),
              },
            ],
          },
        ],
        [primary, open],
      ),
    );
    expect(bashN(script).status).toBe(0);
    expect(script).toContain(
      `on_primary_lab() { ssh -p 2222 -i '/root/.ssh/pef key' -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/srv/pef/known_hosts admin@127.0.20.2 -- "cd \\"\\$HOME\\" 2>/dev/null || cd /; exec sudo -n -H -u root -- sh -c $(pef_q "$1")"; }`,
    );
    expect(script).toContain(
      'on_replica_lab() { ssh -p 2222 -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.20.2 -- "cd \\"\\$HOME\\" 2>/dev/null || cd /; exec sh -c $(pef_q "$1")"; }',
    );
    expect(script).toContain("on_primary_lab 'rsync -a /ca/ x:/in/' </dev/null || pef_allow $? 24");
    expect(script).toContain(`on_replica_lab 'export LC_ALL=C; install-ca' </dev/null\n`);
    expect(script).toContain('on_replica_lab probe </dev/null || true');
  });

  it('runs a hook on the controller with a clean environment, in its directory', () => {
    const script = renderRunbook(
      doc(
        [
          {
            name: 'announce',
            description: '',
            entries: [
              {
                kind: 'command',
                target: 'controller',
                command: './dns-switch "$PEF_ACTIVE"',
                env: { PEF_ACTIVE: 'replica.lab', PEF_HOOK: 'after-failover' },
                local: true,
                cwd: '/srv/pef',
              },
            ],
          },
        ],
        [],
      ),
    );
    expect(bashN(script).status).toBe(0);
    expect(script).toContain('# on the controller (a hook): ./dns-switch "$PEF_ACTIVE"');
    expect(script).toContain(`(cd /srv/pef && env -i PATH="\${PATH:-}" HOME="\${HOME:-}"`);
    expect(script).toContain(
      `PEF_ACTIVE=replica.lab PEF_HOOK=after-failover sh -c './dns-switch "$PEF_ACTIVE"') </dev/null`,
    );
    // Run for real: the hook sees its variables and none of the script's secrets.
    const run = spawnSync(
      'bash',
      ['-c', script.replace('\'./dns-switch "$PEF_ACTIVE"\'', `'env'`).replace('cd /srv/pef && ', '')],
      {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '/bin', PEF_SECRET_X: 'hidden' },
      },
    );
    expect(run.stdout).toContain('PEF_ACTIVE=replica.lab');
    expect(run.stdout).not.toContain('PEF_SECRET_X');
  });

  it('stops at a task that cannot preview its commands', () => {
    const script = renderRunbook(
      doc(
        [
          {
            name: 'restore',
            description: '',
            entries: [
              {
                kind: 'command',
                target: 'replica.lab',
                command: '(task restore_db: runs for real only; it cannot preview its commands)',
                unsupported: true,
              },
            ],
          },
        ],
        [sshTarget('replica.lab')],
      ),
    );
    expect(script).toContain('# NOT EXPORTABLE: replica.lab: (task restore_db: runs for real only');
    expect(script).toMatch(/pef_stop '.*finish with: pef plan run sync --from restore'/);
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(run.status).toBe(3);
  });

  it('refuses a secret in a command line or an env value, and numbers other secrets in input', () => {
    registerSecret('the-db-password-42');
    const step = (entry: Partial<RunbookStep['entries'][number]>): RunbookStep[] => [
      {
        name: 'db',
        description: '',
        entries: [{ kind: 'command', target: 'replica.lab', command: 'x', ...entry } as never],
      },
    ];
    const targets = [sshTarget('replica.lab')];
    expect(() => renderRunbook(doc(step({ command: 'psql -W the-db-password-42' }), targets))).toThrow(
      /sends a secret inside a command line or variable in step db on replica.lab/,
    );
    expect(() => renderRunbook(doc(step({ env: { PGPASSWORD: 'the-db-password-42' } }), targets))).toThrow(
      /a runbook cannot carry it safely/,
    );
    const script = renderRunbook(doc(step({ command: 'psql', stdin: 'the-db-password-42\n' }), targets));
    expect(script).not.toContain('the-db-password-42');
    expect(script).toContain(': "${PEF_SECRET_1:?set PEF_SECRET_1 to a secret first used in step db on replica.lab');
    expect(script).toContain(`{ printf '%s' "$PEF_SECRET_1"; printf '%s' '\n'; } | on_replica_lab psql`);
    expect(bashN(script).status).toBe(0);
  });

  it('fills a run-time value only from an earlier capture, and only into a command line', () => {
    const targets = [sshTarget('replica.lab')];
    const entry = (e: Record<string, unknown>) => ({ kind: 'command', target: 'replica.lab', ...e }) as never;
    const steps = (...entries: never[]): RunbookStep[] => [{ name: 'restore', description: '', entries }];
    const use = entry({ command: `psql -c "COMMENT ... sha256=${runTimeValue('sum')}"` });
    expect(() => renderRunbook(doc(steps(use), targets))).toThrow(
      /uses the run-time value sum, which no earlier command/,
    );
    const capture = entry({ command: 'sha256sum f', capture: { name: 'sum', pattern: '[0-9a-f]{64}', what: 'a sum' } });
    const script = renderRunbook(doc(steps(capture, use), targets));
    expect(script).toContain(`PEF_VALUE_SUM=$(on_replica_lab 'sha256sum f' </dev/null)`);
    expect(script).toContain(`pef_check "$PEF_VALUE_SUM" '^([0-9a-f]{64})$' 'a sum'`);
    expect(script).toContain(`sha256='"$PEF_VALUE_SUM"'"'`);
    expect(bashN(script).status).toBe(0);
    const inInput = entry({ command: 'psql', stdin: `${runTimeValue('sum')}\n` });
    expect(() => renderRunbook(doc(steps(capture, inInput), targets))).toThrow(/only a command line may hold one/);
  });
});
