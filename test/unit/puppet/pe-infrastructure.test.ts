import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PefError } from '../../../src/errors/pef-error.js';
import {
  accessLoginCommand,
  assertPeHost,
  enableReplicaCommand,
  ensureToken,
  forgetReplicaCommand,
  jobRunCommand,
  ALL_NODES_QUERY,
  infrastructureFailure,
  parsePeHostProbe,
  peHostProbeCommand,
  promoteReplicaCommand,
  provisionReplicaCommand,
  readInfraStatus,
  resolveReplicaCertname,
  tokenCheckCommand,
  tokenFileWord,
  type TokenHost,
} from '../../../src/puppet/pe-infrastructure.js';
import { parseInfraStatus } from '../../../src/puppet/pe-infra-status.js';
import type { CommandOutput } from '../../../src/transport/transport.js';
import { Sensitive } from '../../../src/util/sensitive.js';

// PE's shape, trimmed from a real `puppet infra status --format=json` (peadm's spec fixture):
// the primary's services report replication mode "source", the replica's are listed from
// classification (unreachable here, so without a status).
const PE_STATUS = JSON.stringify([
  {
    service: 'pe-master',
    state: 'running',
    status: {},
    display_name: 'Puppet Server',
    server: 'pe-std.puppet.vm',
    type: 'master',
    alerts: [],
  },
  {
    service: 'classifier-service',
    state: 'running',
    status: { db_up: true, replication: { mode: 'source', status: 'inactive' } },
    display_name: 'Classifier',
    server: 'pe-std.puppet.vm',
    type: 'classifier',
    alerts: [],
  },
  {
    service: 'rbac-service',
    state: 'running',
    status: { replication: { mode: 'source', status: 'inactive' } },
    display_name: 'RBAC',
    server: 'pe-std.puppet.vm',
    type: 'rbac',
    alerts: [],
  },
  {
    service: 'master',
    display_name: 'Puppet Server',
    state: 'unreachable',
    status: null,
    server: 'pe-std-replica.puppet.vm',
    type: 'master',
    alerts: [],
  },
  {
    service: 'classifier',
    display_name: 'Classifier',
    state: 'unreachable',
    status: null,
    server: 'pe-std-replica.puppet.vm',
    type: 'classifier',
    alerts: [],
  },
  {
    service: 'pe-master',
    state: 'running',
    status: {},
    display_name: 'Puppet Server',
    server: 'compiler1.puppet.vm',
    type: 'master',
    alerts: [],
  },
]);

describe('parseInfraStatus', () => {
  it("reads PE's array: the primary by replication mode source, the replica by its console services, compilers left out", () => {
    const status = parseInfraStatus(PE_STATUS, 'primary');
    expect(status).toMatchObject({ primary: 'pe-std.puppet.vm', replicas: [{ certname: 'pe-std-replica.puppet.vm' }] });
    expect(status.services).toHaveLength(6);
    expect(status.services[3]).toEqual({
      service: 'master',
      display_name: 'Puppet Server',
      server: 'pe-std-replica.puppet.vm',
      state: 'unreachable',
    });
  });

  it('takes a server whose services report mode replica as a replica, and no primary when none reports source', () => {
    const status = parseInfraStatus(
      JSON.stringify([
        {
          service: 'rbac',
          server: 'r.vm',
          state: 'running',
          type: 'rbac',
          status: { replication: { mode: 'replica' } },
        },
      ]),
      'h',
    );
    expect(status).toMatchObject({ primary: null, replicas: [{ certname: 'r.vm' }] });
  });

  it('skips notices printed before the JSON', () => {
    expect(parseInfraStatus(`Notice: something\nWarning: else\n${PE_STATUS}\n`, 'h').primary).toBe('pe-std.puppet.vm');
  });

  it('names the host and the command when the output is not status JSON', () => {
    expect(() => parseInfraStatus('Error: Unknown Puppet subcommand infrastructure\n', 'primary')).toThrow(
      /Could not read `\/opt\/puppetlabs\/bin\/puppet infrastructure status --format json` on primary: no JSON document.*output began: "Error: Unknown Puppet subcommand/,
    );
    expect(() => parseInfraStatus('{"what": 1}', 'primary')).toThrow(/primary printed JSON pef does not know/);
    // The lab stand-in's former object shape is no format PE prints: refused like any other.
    expect(() => parseInfraStatus('{"primary": "p.lab", "replicas": {}}', 'primary')).toThrow(
      /not PE's array of service entries/,
    );
    expect(() => parseInfraStatus('{broken', 'primary')).toThrow(PefError);
  });

  it('turns a failing status command into a task error that says nothing changed', async () => {
    const host = {
      target: { name: 'primary' },
      read: async () => {
        throw new PefError('pef/command-failed', 'x', {
          exitCode: 1,
          stderr: 'Error: Could not connect to https://primary:4433',
        });
      },
    };
    await expect(readInfraStatus(host, 'infra_status')).rejects.toThrow(
      /infra_status on primary: `puppet infrastructure status --format json` exited with 1:\n {2}Error: Could not connect[\s\S]*nothing was changed/,
    );
  });
});

describe('commands', () => {
  it('build the exact puppet infrastructure lines, values quoted', () => {
    expect(
      provisionReplicaCommand('replica.lab', {
        tokenFile: '/root/t',
        enable: true,
        topology: 'mono-with-compile',
        skipAgentConfig: true,
      }),
    ).toBe(
      '/opt/puppetlabs/bin/puppet infrastructure provision replica replica.lab --yes --token-file /root/t --enable --topology mono-with-compile --skip-agent-config',
    );
    expect(provisionReplicaCommand('replica.lab', { tokenFile: '~/.puppetlabs/token', enable: false })).toBe(
      '/opt/puppetlabs/bin/puppet infrastructure provision replica replica.lab --yes --token-file "$HOME"/.puppetlabs/token',
    );
    expect(enableReplicaCommand('r.lab', { tokenFile: '/t f' })).toBe(
      "/opt/puppetlabs/bin/puppet infrastructure enable replica r.lab --yes --token-file '/t f'",
    );
    expect(promoteReplicaCommand()).toBe('/opt/puppetlabs/bin/puppet infrastructure promote replica --yes');
    expect(promoteReplicaCommand({ topology: 'mono' })).toBe(
      '/opt/puppetlabs/bin/puppet infrastructure promote replica --yes --topology mono',
    );
    expect(forgetReplicaCommand('old.lab', '/root/t')).toBe(
      '/opt/puppetlabs/bin/puppet infrastructure forget old.lab --token-file /root/t',
    );
    expect(jobRunCommand(ALL_NODES_QUERY, '/root/t')).toBe(
      "/opt/puppetlabs/bin/puppet job run --no-enforce-environment --query 'nodes {deactivated is null and expired is null}' --token-file /root/t",
    );
    expect(jobRunCommand("nodes { certname = 'a' }", '/root/t')).toContain(
      "--query 'nodes { certname = '\\''a'\\'' }'",
    );
    expect(accessLoginCommand('admin')).toBe('/opt/puppetlabs/bin/puppet access login --username admin --lifetime 1h');
    expect(accessLoginCommand("o'brien")).toBe(
      "/opt/puppetlabs/bin/puppet access login --username 'o'\\''brien' --lifetime 1h",
    );
  });

  it('keep ~/ in a token path expandable by the shell, and only that', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pef-token-'));
    try {
      writeFileSync(join(dir, 'tok en'), 'x');
      const run = (cmd: string) =>
        spawnSync('sh', ['-c', cmd], { env: { HOME: dir, PATH: process.env['PATH'] ?? '' } }).status;
      expect(run(tokenCheckCommand('~/tok en'))).toBe(0);
      expect(run(tokenCheckCommand('~/missing'))).toBe(1);
      expect(tokenFileWord('/a/~/b')).toBe("'/a/~/b'");
      expect(tokenFileWord('~user/x')).toBe("'~user/x'");
      writeFileSync(join(dir, 'empty'), '');
      expect(run(tokenCheckCommand(join(dir, 'empty')))).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('probe PE and the certname, and refuse a host that is not PE', () => {
    expect(peHostProbeCommand({ certname: false })).not.toContain('config print');
    expect(parsePeHostProbe('pe_version=2023.8.0\ncertname=primary.lab\n')).toEqual({
      peVersion: '2023.8.0',
      certname: 'primary.lab',
    });
    const oss = parsePeHostProbe('pe_version=\ncertname=primary.lab\n');
    expect(() => assertPeHost(oss, 'primary', 'provision_replica', { certname: true })).toThrow(
      /provision_replica drives Puppet Enterprise's `puppet infrastructure`, but primary is not PE \(no \/opt\/puppetlabs\/server\/pe_version\)/,
    );
    expect(() =>
      assertPeHost(parsePeHostProbe('pe_version=2023.8.0\ncertname=\n'), 'primary', 't', { certname: true }),
    ).toThrow(/Could not read primary's certname/);
    expect(() =>
      assertPeHost(parsePeHostProbe('pe_version=2023.8.0\n'), 'primary', 't', { certname: false }),
    ).not.toThrow();
  });
});

// A host answering the token commands; records what it was sent, stdin included.
function tokenHost(initial: { token: boolean; loginFails?: boolean }) {
  const state = { token: initial.token, sent: [] as { command: string; stdin?: string }[] };
  const host: TokenHost = {
    target: { name: 'primary' },
    read: async (command) => {
      state.sent.push({ command });
      return out(command.startsWith('test -s') ? (state.token ? 0 : 1) : 0);
    },
    change: async (command, options) => {
      state.sent.push({ command, ...(options?.stdin === undefined ? {} : { stdin: options.stdin }) });
      if (initial.loginFails)
        throw new PefError('pef/command-failed', `\`${command}\` exited with 1`, {
          exitCode: 1,
          stderr: 'Error: The provided credentials are invalid: hunter2-secret\n',
        });
      state.token = true;
      return out(0);
    },
  };
  return { host, state };
}

function out(exitCode: number): CommandOutput {
  return { stdout: '', stderr: '', exitCode, durationMs: 1 };
}

describe('ensureToken', () => {
  it('checks the default token file with test -s and never reads it', async () => {
    const { host, state } = tokenHost({ token: true });
    expect(await ensureToken(host, { rbac_user: 'admin' }, 'provision_replica', false)).toBe('~/.puppetlabs/token');
    expect(state.sent).toEqual([{ command: 'test -s "$HOME"/.puppetlabs/token' }]);
  });

  it('names both ways to give a token when there is none', async () => {
    const { host } = tokenHost({ token: false });
    await expect(
      ensureToken(host, { rbac_user: 'admin', token_file: '/root/tok' }, 'forget_replica', false),
    ).rejects.toThrow(
      /No RBAC token on primary: \/root\/tok is missing or empty\. Either log in there first \(`puppet access login --lifetime 1h`.*token_file=<path>.*or pass rbac_password.*Nothing was changed/s,
    );
  });

  it('logs in with the password on stdin only, then uses the token file login wrote', async () => {
    const { host, state } = tokenHost({ token: false });
    const password = new Sensitive('hunter2-secret');
    expect(await ensureToken(host, { rbac_user: 'ops', rbac_password: password }, 'provision_replica', false)).toBe(
      '~/.puppetlabs/token',
    );
    expect(state.sent[0]).toEqual({
      command: '/opt/puppetlabs/bin/puppet access login --username ops --lifetime 1h',
      stdin: 'hunter2-secret\n',
    });
    expect(state.sent.map((s) => s.command).join('\n')).not.toContain('hunter2');
  });

  it('in noop records the login and checks nothing', async () => {
    const { host, state } = tokenHost({ token: false });
    expect(
      await ensureToken(host, { rbac_user: 'admin', rbac_password: new Sensitive('hunter2-secret') }, 't', true),
    ).toBe('~/.puppetlabs/token');
    expect(state.sent).toHaveLength(1);
  });

  it('reports a failed login without the password, even when PE echoes it', async () => {
    const { host } = tokenHost({ token: false, loginFails: true });
    const error = await ensureToken(
      host,
      { rbac_user: 'admin', rbac_password: new Sensitive('hunter2-secret') },
      'provision_replica',
      false,
    ).catch((e: unknown) => e as PefError);
    expect(error).toBeInstanceOf(PefError);
    expect((error as PefError).message).toMatch(
      /provision_replica on primary: `puppet access login` exited with 1:\n {2}Error: The provided credentials are invalid: \[sensitive\]\nNo token was written/,
    );
    expect(JSON.stringify((error as PefError).toJSON())).not.toContain('hunter2');
  });

  it('refuses token_file together with rbac_password', async () => {
    const { host, state } = tokenHost({ token: true });
    await expect(
      ensureToken(host, { rbac_user: 'a', token_file: '/t', rbac_password: new Sensitive('pw-long') }, 't', false),
    ).rejects.toThrow(/give token_file or rbac_password, not both/);
    expect(state.sent).toEqual([]);
  });
});

describe('resolveReplicaCertname', () => {
  const peer = (stdout: string) => async () => ({ read: async () => ({ stdout }) });

  it('takes replica_certname as given, or reads the certname on the replica target', async () => {
    expect(await resolveReplicaCertname({ replica_certname: 'r.lab' }, peer(''), 't')).toBe('r.lab');
    expect(
      await resolveReplicaCertname({ replica: 'replica' }, peer('pe_version=2023.8.0\ncertname=replica.lab\n'), 't'),
    ).toBe('replica.lab');
  });

  it('wants exactly one of the two', async () => {
    await expect(resolveReplicaCertname({}, peer(''), 'forget_replica')).rejects.toThrow(
      /forget_replica needs exactly one of replica=<inventory name>.*or replica_certname=<certname>/,
    );
    await expect(resolveReplicaCertname({ replica: 'a', replica_certname: 'b' }, peer(''), 't')).rejects.toThrow(
      /exactly one/,
    );
  });

  it('points at replica_certname when the replica cannot be reached, and keeps unknown targets as they are', async () => {
    const down = async () => {
      throw new PefError('pef/connect-failed', 'connect ECONNREFUSED 127.0.0.2:22');
    };
    await expect(resolveReplicaCertname({ replica: 'replica' }, down, 'forget_replica')).rejects.toThrow(
      /could not read the certname of replica \(connect ECONNREFUSED.*pass replica_certname=<its certname>/,
    );
    const unknown = async () => {
      throw new PefError('pef/unknown-target', 'no target named x');
    };
    await expect(resolveReplicaCertname({ replica: 'x' }, unknown, 't')).rejects.toMatchObject({
      kind: 'pef/unknown-target',
    });
  });
});

describe('infrastructureFailure', () => {
  it('gives exit code, the last stderr lines and what state is left', () => {
    const stderr = `${Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n')}\n`;
    const e = infrastructureFailure(
      'provision_replica',
      'primary',
      'infrastructure provision replica',
      new PefError('pef/command-failed', 'cmd', { exitCode: 3, stderr }),
      'Left: X.',
    );
    expect(e.kind).toBe('pef/task-failed');
    expect(e.message).toBe(
      `provision_replica on primary: \`puppet infrastructure provision replica\` exited with 3:\n  ${['line 4', 'line 5', 'line 6', 'line 7', 'line 8', 'line 9', 'line 10', 'line 11'].join('\n  ')}\nLeft: X.`,
    );
    expect(e.details).toMatchObject({ exitCode: 3 });
  });

  it('explains a transport failure the same way', () => {
    const e = infrastructureFailure(
      'promote_replica',
      'replica',
      'infrastructure promote replica',
      new PefError('pef/connection-lost', 'connection to replica lost'),
      'Left: Y.',
    );
    expect(e.message).toBe(
      'promote_replica on replica: `puppet infrastructure promote replica` did not finish (pef/connection-lost: connection to replica lost)\nLeft: Y.',
    );
  });
});
