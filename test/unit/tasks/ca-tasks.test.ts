/**
 * sync_ca, pad_serial and setup_transfer against fake hosts whose answers are keyed on the
 * exported command builders: a hostile replica is refused with nothing sent to the primary but
 * its read-only probes, and a failure in the certificate step fails the task loudly, after the
 * ssldir was put back (checked) and Puppet Server started again (checked).
 */
import { describe, expect, it } from '@jest/globals';
import { DISCOVER_SCRIPT, followUpScript, parseDiscovery } from '../../../src/host/discover.js';
import { serviceCommand } from '../../../src/host/services.js';
import { readRegularFileCommand, writeFileCommand } from '../../../src/host/files.js';
import { caDigestCommand } from '../../../src/puppet/ca-dir.js';
import { certInfoCommand } from '../../../src/puppet/certs.js';
import { formatSerial, parseSerial } from '../../../src/puppet/ca-serial.js';
import { replicationStateCommand } from '../../../src/puppet/mode.js';
import { backupSslCommand, leftoverBackupsCommand, restoreSslCommand } from '../../../src/puppet/ssl-backup.js';
import {
  peerStateCommand,
  RECEIVER_HOSTNAME_COMMAND,
  TRANSFER_DEFAULTS,
  TRANSFER_GATE,
  transferGateScript,
  transferPaths,
} from '../../../src/puppet/transfer.js';
import { runTask } from '../../../src/task/run-task.js';
import { padSerial, padSerialCommand } from '../../../tasks/pad-serial.js';
import {
  setupTransfer,
  transferDirsCommand,
  transferDirsProbe,
  wantedTransferDirs,
} from '../../../tasks/setup-transfer.js';
import { generateCertCommand, syncCa } from '../../../tasks/sync-ca.js';
import { fakeRuntime, fakeTarget, type CommandHandler } from '../../helpers/fake-runtime.js';

const CADIR = '/etc/puppet/puppetserver/ca';
const SSLDIR = '/var/lib/puppet/ssl';
const discovery = (certname: string) =>
  [
    'service_manager=systemd',
    'flavor=oss',
    `config.certname=${certname}`,
    `config.dns_alt_names=${certname},puppet.lab`,
    `config.ssldir=${SSLDIR}`,
    `config.cadir=${CADIR}`,
    'service.puppetserver=1,1',
  ].join('\n');
const targets = [fakeTarget('primary'), fakeTarget('replica')];

/** A primary and a replica; `answer` overrides per command. */
function world(replica: { certname?: string; hostname?: string }, answer: CommandHandler = () => undefined as never) {
  const facts = {
    primary: parseDiscovery(`${discovery('primary.lab')}\nhas_ca=true`),
    replica: parseDiscovery(discovery(replica.certname ?? 'replica.lab')),
  };
  const stdin: { target: string; command: string; stdin: string }[] = [];
  const handler: CommandHandler = (target, command, options) => {
    if (options.stdin !== undefined) stdin.push({ target, command, stdin: String(options.stdin) });
    const override = answer(target, command, options);
    if (override) return override;
    const f = target === 'primary' ? facts.primary : facts.replica;
    if (command === DISCOVER_SCRIPT) return { stdout: discovery(f.certname) };
    if (command === followUpScript(parseDiscovery(discovery(f.certname))))
      return { stdout: `has_ca=${target === 'primary'}` };
    if (command === RECEIVER_HOSTNAME_COMMAND) return { stdout: `${replica.hostname ?? 'replica.lab'}\n` };
    return {};
  };
  return { facts, handler, stdin };
}

const readOnlyProbes = (certname: string, hasCa: boolean) => [
  DISCOVER_SCRIPT,
  followUpScript(parseDiscovery(discovery(certname))),
  replicationStateCommand(),
  ...(hasCa ? [] : [RECEIVER_HOSTNAME_COMMAND]),
];

describe('sync_ca against a hostile replica', () => {
  const hostile: [string, { certname?: string; hostname?: string }, Record<string, unknown>, RegExp][] = [
    [
      'a certname that escapes the cadir',
      { certname: '../../x' },
      {},
      /certname \(puppet config print\) "\.\.\/\.\.\/x" from replica/,
    ],
    [
      'a hostname with shell metacharacters',
      { hostname: 'a;touch /tmp/x' },
      {},
      /hostname -f "a;touch \/tmp\/x" from replica/,
    ],
    [
      'receiver_host with shell metacharacters',
      {},
      { receiver_host: 'a;touch /tmp/x' },
      /parameter receiver_host "a;touch \/tmp\/x" from the controller/,
    ],
  ];
  for (const [what, replica, params, message] of hostile) {
    it(`refuses ${what}, sending the primary nothing but its read-only probes`, async () => {
      const w = world(replica);
      const fake = fakeRuntime(targets, w.handler);
      const r = (await runTask(fake.runtime, syncCa, [targets[0]!], { receiver: 'replica', ...params })).find(
        'primary',
      )!;
      expect(r.error?.kind).toBe('pef/untrusted-value');
      expect(r.error?.msg).toMatch(message);
      const primaryCommands = fake.sent.filter((s) => s.target === 'primary').map((s) => s.command);
      expect(primaryCommands.length).toBeGreaterThan(0);
      for (const c of primaryCommands) expect(readOnlyProbes('primary.lab', true)).toContain(c);
      const replicaCommands = fake.sent.filter((s) => s.target === 'replica').map((s) => s.command);
      for (const c of replicaCommands) expect(readOnlyProbes(replica.certname ?? 'replica.lab', false)).toContain(c);
      expect(w.stdin).toEqual([]);
    });
  }
});

describe("sync_ca's certificate step failing", () => {
  const manager = 'systemd' as const;
  const names = ['replica.lab', 'puppet.lab'];
  // The CA copy is current, the replica has no certificate, so only the certificate step runs.
  function failing(options: { restore: 'ok' | 'fails'; start: 'ok' | 'fails' }) {
    let stamp = '';
    const answer: CommandHandler = (target, command) => {
      if (command === caDigestCommand(CADIR)) return { stdout: 'same\n' };
      if (command.startsWith('stat -c %U:%G')) return { stdout: 'puppet:puppet\n' };
      if (target === 'primary' && command === certInfoCommand(`${CADIR}/ca_crt.pem`))
        return { stdout: 'issuer=CN=Puppet CA\nsubject=CN=Puppet CA\n' };
      if (command === readRegularFileCommand(`${CADIR}/serial`)) return { stdout: '0186A0\n' };
      if (target === 'replica' && command === leftoverBackupsCommand(SSLDIR)) return { stdout: '' };
      const backup = /\.pef-backup-(\w+)\.partial/.exec(command);
      if (target === 'replica' && backup && command === backupSslCommand(SSLDIR, backup[1] ?? '')) {
        stamp = backup[1] ?? '';
        return { stdout: 'digest=before\n' };
      }
      if (target === 'replica' && command === generateCertCommand('replica.lab', names))
        return { exitCode: 1, stderr: 'Error: injected failure of puppetserver ca generate\n' };
      if (target === 'replica' && stamp && command === restoreSslCommand(SSLDIR, stamp, 'before'))
        return options.restore === 'ok' ? { stdout: 'restored=yes\n' } : { exitCode: 3, stderr: 'digest differs\n' };
      if (target === 'replica' && command === serviceCommand(manager, 'start', 'puppetserver'))
        return options.start === 'ok' ? {} : { exitCode: 1, stderr: 'Job failed\n' };
      if (target === 'replica' && command === serviceCommand(manager, 'status', 'puppetserver'))
        return { exitCode: options.start === 'ok' ? 0 : 3 };
      return undefined as never;
    };
    return world({}, answer);
  }
  const run = async (w: ReturnType<typeof failing>) => {
    const fake = fakeRuntime(targets, w.handler);
    const r = (await runTask(fake.runtime, syncCa, [targets[0]!], { receiver: 'replica' })).find('primary')!;
    return { r, sent: fake.sent.map((s) => `${s.target}: ${s.command}`) };
  };

  it('fails naming the cause, after putting the ssldir back (checked) and starting Puppet Server (checked)', async () => {
    const { r, sent } = await run(failing({ restore: 'ok', start: 'ok' }));
    expect(r.status).toBe('failure');
    expect(r.error?.msg).toContain('Could not issue a certificate for replica.lab');
    expect(r.error?.msg).toContain('injected failure');
    expect(r.error?.msg).toMatch(/was put back from \S+\.pending and checked against its digest/);
    const at = (c: string) => sent.indexOf(`replica: ${c}`);
    const stop = at(serviceCommand(manager, 'stop', 'puppetserver'));
    const start = at(serviceCommand(manager, 'start', 'puppetserver'));
    const status = at(serviceCommand(manager, 'status', 'puppetserver'));
    const restore = sent.findIndex((s) => s.startsWith('replica: ') && s.includes('restored=yes'));
    expect([stop, restore, start, status].every((i) => i >= 0)).toBe(true);
    expect(stop < restore && restore < start && start < status).toBe(true);
    // Nothing recorded on the primary: the certificate never existed.
    expect(sent.some((s) => s.startsWith('primary: ') && s.includes('/signed/'))).toBe(false);
  });

  it('in a dry run, marks the certificate as input only a real run has, before any of its changes', async () => {
    const fake = fakeRuntime(targets, failing({ restore: 'ok', start: 'ok' }).handler, { noop: true });
    const r = (await runTask(fake.runtime, syncCa, [targets[0]!], { receiver: 'replica' })).find('primary')!;
    expect(r.status).toBe('success');
    const recorded = fake.events.flatMap((e) => (e.type === 'noop-command' ? [e] : []));
    expect(recorded[0]).toMatchObject({
      target: 'primary',
      command: expect.stringContaining(`${CADIR}/signed/replica.lab.pem`),
      runTimeInput: expect.stringContaining("the certificate replica's copy of the CA issues"),
    });
    expect(recorded.slice(1).map((e) => e.command)).toContain(serviceCommand(manager, 'stop', 'puppetserver'));
  });

  it('says so, with the commands to run, when neither the put-back nor the start can be confirmed', async () => {
    const { r } = await run(failing({ restore: 'fails', start: 'fails' }));
    expect(r.status).toBe('failure');
    expect(r.error?.msg).toMatch(
      /could NOT be put back [\s\S]*run `rm -rf \/var\/lib\/puppet\/ssl && cp -a \S+\.pending \/var\/lib\/puppet\/ssl` there/,
    );
    expect(r.error?.msg).toContain(`run \`${serviceCommand(manager, 'start', 'puppetserver')}\` there`);
    expect(r.error?.details).toMatchObject({ putBack: false, serverRunning: false });
  });

  it('refuses to start over a backup left by an interrupted run, changing nothing', async () => {
    const pending = `${SSLDIR}.pef-backup-20260101T000000000Z.pending`;
    const w = world({}, (target, command) => {
      if (command === caDigestCommand(CADIR)) return { stdout: 'same\n' };
      if (command.startsWith('stat -c %U:%G')) return { stdout: 'puppet:puppet\n' };
      if (target === 'replica' && command === leftoverBackupsCommand(SSLDIR)) return { stdout: `pending=${pending}\n` };
      return undefined as never;
    });
    const fake = fakeRuntime(targets, w.handler);
    const r = (await runTask(fake.runtime, syncCa, [targets[0]!], { receiver: 'replica' })).find('primary')!;
    expect(r.error?.msg).toContain(`a backup of ${SSLDIR} from an interrupted sync_ca run: ${pending}`);
    expect(fake.sent.some((s) => s.command === serviceCommand('systemd', 'stop', 'puppetserver'))).toBe(false);
  });
});

describe('pad_serial', () => {
  it('replaces the serial through the root-safe writer, keeping owner and mode, the new value on stdin', async () => {
    const w = world({}, (_t, command) =>
      command === readRegularFileCommand(`${CADIR}/serial`) ? { stdout: '0010\n' } : (undefined as never),
    );
    const fake = fakeRuntime(targets, w.handler);
    const r = (await runTask(fake.runtime, padSerial, [targets[0]!], {})).find('primary')!;
    expect(r).toMatchObject({ status: 'success', changed: true });
    const file = `${CADIR}/serial`;
    expect(w.stdin).toEqual([
      {
        target: 'primary',
        command: padSerialCommand(file),
        stdin: formatSerial(0x186a0n, parseSerial('0010\n', file)),
      },
    ]);
    expect(padSerialCommand(file)).toBe(writeFileCommand(file, 'keep'));
  });
});

describe('setup_transfer', () => {
  const settings = {
    user: TRANSFER_DEFAULTS.user,
    home: TRANSFER_DEFAULTS.home,
    senderDir: TRANSFER_DEFAULTS.senderDir,
    host: 'replica.lab',
    port: 22,
  };
  const paths = transferPaths(settings);
  function answers(hostKey: string): CommandHandler {
    return (target, command) => {
      if (command === 'command -v rrsync || true') return { stdout: '/usr/bin/rrsync\n' };
      if (command === `cat ${paths.key}.pub`) return { stdout: 'ssh-ed25519 AAAAC3Nza pef-transfer@primary\n' };
      if (command.startsWith('test -f')) return { stdout: 'yes\n' };
      if (command.startsWith('id -u')) return { stdout: 'yes\n' };
      if (command === transferDirsProbe(settings)) return { stdout: 'pef-transfer:pef-transfer 755\n' };
      if (target === 'replica' && command === 'cat /etc/ssh/ssh_host_ed25519_key.pub') return { stdout: hostKey };
      // The gate's answer to the sender, as the receiver's replicationStateCommand prints it.
      if (target === 'primary' && command === `${peerStateCommand(settings)} 2>&1`)
        return { stdout: '--- pef mode\nmode=passive\n\n--- pef epoch\nepoch=1\n' };
      return undefined as never;
    };
  }

  it('makes the home, .ssh and authorized_keys root-owned (readable by the transfer user), incoming the user’s', async () => {
    const w = world({}, answers('ssh-ed25519 AAAAC3NzaHOST root@replica\n'));
    const fake = fakeRuntime(targets, w.handler);
    const r = (await runTask(fake.runtime, setupTransfer, [targets[0]!], { receiver: 'replica' })).find('primary')!;
    expect(r.error).toBeUndefined();
    const replica = fake.sent.filter((s) => s.target === 'replica').map((s) => s.command);
    expect(replica).toContain(transferDirsCommand(settings));
    expect(w.stdin).toContainEqual({
      target: 'replica',
      command: writeFileCommand(paths.authorizedKeys, { mode: '640', owner: 'root', group: 'pef-transfer' }),
      stdin: `restrict,command="${TRANSFER_GATE}" ssh-ed25519 AAAAC3Nza pef-transfer@primary\n`,
    });
    // The gate hands everything but the peer-state request to rrsync -wo, which refuses anything but a write into incoming/.
    expect(w.stdin).toContainEqual({
      target: 'replica',
      command: writeFileCommand(TRANSFER_GATE, { mode: '755', owner: 'root', group: 'root' }),
      stdin: transferGateScript('/usr/bin/rrsync', paths.incoming),
    });
    expect(transferGateScript('/usr/bin/rrsync', paths.incoming)).toMatch(
      /if \[ "\$\{SSH_ORIGINAL_COMMAND:-\}" = pef-peer-state \]; then\n.*\n {2}exit 0\nfi\nexec \/usr\/bin\/rrsync -wo \/var\/lib\/pef-transfer\/incoming\n$/,
    );
    expect(wantedTransferDirs(settings).split('\n')).toEqual([
      'root:root 755',
      'root:pef-transfer 750',
      'pef-transfer:pef-transfer 700',
      'root:pef-transfer 640',
    ]);
  });

  it("refuses a receiver host key that is not a public key, writing nothing on the sender's known_hosts", async () => {
    const w = world({}, answers('ssh-ed25519 AAAA\n[evil]:22 ssh-rsa BBBB'));
    const fake = fakeRuntime(targets, w.handler);
    const r = (await runTask(fake.runtime, setupTransfer, [targets[0]!], { receiver: 'replica' })).find('primary')!;
    expect(r.error?.kind).toBe('pef/untrusted-value');
    expect(w.stdin.some((s) => s.target === 'primary')).toBe(false);
  });
});
