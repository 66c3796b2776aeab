/**
 * Ansible (Debian's ansible-core) as a baseline, run the way its users run it: the ssh
 * connection plugin with its stock `ssh_args` (`-C -o ControlMaster=auto -o ControlPersist=60s`),
 * `raw` tasks, no fact gathering. Everything it writes (config, inventory, control sockets,
 * temp files) lives in one temp dir, which is also how its ControlPersist masters are found and
 * stopped afterwards.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { stopProcessesMentioning, type SshEndpoint } from './openssh.js';
import { timedSpawn, type TimedRun } from './timed-spawn.js';

/** A scratch Ansible setup for a list of endpoints sharing port, user, key and known_hosts. */
export interface AnsibleWorkspace {
  dir: string;
  inventory: string;
  env: NodeJS.ProcessEnv;
  /** Runs `ansible-playbook` with `count` raw tasks of `command` on every host. */
  playbook(command: string, count: number, timeoutMs: number): Promise<TimedRun>;
  /** Runs the ad-hoc `ansible all -f forks -m raw -a command`. */
  adhoc(command: string, forks: number, timeoutMs: number): Promise<TimedRun>;
  /** Stops its ssh masters and removes the dir. */
  close(): Promise<void>;
}

/** Writes config and inventory for `endpoints`; see the file comment. */
export async function ansibleWorkspace(cleanup: Cleanup, endpoints: readonly SshEndpoint[]): Promise<AnsibleWorkspace> {
  const first = endpoints[0];
  if (first === undefined) throw new RangeError('ansibleWorkspace() needs at least one endpoint');
  const dir = await mkdtemp(join(tmpdir(), 'pef-bench-ansible-'));
  const close = cleanup.add(`ansible workspace ${dir}`, async () => {
    // ControlPersist masters outlive ansible; their command line names our control dir.
    await stopProcessesMentioning(dir);
    await rm(dir, { recursive: true, force: true });
  });
  const controlDir = join(dir, 'cp');
  await mkdir(controlDir);
  await mkdir(join(dir, 'tmp'));
  const config = join(dir, 'ansible.cfg');
  await writeFile(config, '[defaults]\n');
  const inventory = join(dir, 'inventory.ini');
  const hostKeyArgs = `-o UserKnownHostsFile=${first.knownHostsFile} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`;
  await writeFile(
    inventory,
    [
      '[bench]',
      ...endpoints.map((e, i) => `t${String(i + 1).padStart(3, '0')} ansible_host=${e.host}`),
      '',
      '[bench:vars]',
      'ansible_connection=ssh',
      `ansible_port=${first.port}`,
      `ansible_user=${first.user}`,
      `ansible_ssh_private_key_file=${first.privateKeyPath}`,
      `ansible_ssh_common_args='${hostKeyArgs}'`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ANSIBLE_CONFIG: config,
    ANSIBLE_HOME: join(dir, 'home'),
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_DEPRECATION_WARNINGS: 'false',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
  };
  let playbooks = 0;
  return {
    dir,
    inventory,
    env,
    playbook: async (command, count, timeoutMs) => {
      const file = join(dir, `playbook-${++playbooks}.yml`);
      const tasks = Array.from(
        { length: count },
        (_, i) => `    - name: raw ${i + 1}\n      raw: ${JSON.stringify(command)}\n`,
      ).join('');
      await writeFile(file, `- hosts: bench\n  gather_facts: false\n  tasks:\n${tasks}`);
      return timedSpawn(cleanup, 'ansible-playbook', ['-i', inventory, file], { cwd: dir, env, timeoutMs });
    },
    adhoc: (command, forks, timeoutMs) =>
      timedSpawn(cleanup, 'ansible', ['bench', '-i', inventory, '-f', String(forks), '-m', 'raw', '-a', command], {
        cwd: dir,
        env,
        timeoutMs,
      }),
    close,
  };
}

/** The PLAY RECAP counters of one host, or undefined when the recap lacks it. */
export function recapOf(
  stdout: string,
  host: string,
): { ok: number; changed: number; unreachable: number; failed: number } | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(`${host} `) && l.includes('ok='));
  if (line === undefined) return undefined;
  const n = (key: string): number => Number(new RegExp(`${key}=(\\d+)`).exec(line)?.[1] ?? NaN);
  return { ok: n('ok'), changed: n('changed'), unreachable: n('unreachable'), failed: n('failed') };
}
