/**
 * sync_ca: make the replica's CA an exact copy of the primary's, and give the replica a server
 * certificate from that CA that agents accept under the common DNS alt name.
 *
 * Files: the whole CA directory (certificates, CRL, inventory, serial, keys) goes from the
 * primary through the transfer channel (setup_transfer) into the replica's staging dir, is copied
 * next to the replica's cadir, owned like it, checked against the primary's digest, and swapped
 * in. Only the cadir is copied: the replica's own certificate and key live in its ssldir, which
 * this part never touches. An unchanged CA is not copied (changed: false).
 *
 * Certificate: the replica's certificate must be issued by the shared CA, name the common DNS alt
 * names (the primary's, e.g. puppet.lab) and carry pp_cli_auth so `puppetserver ca` works on the
 * replica after promotion. The CA API refuses CSRs asking for pp_cli_auth, so when the certificate
 * is not right the replica's copy of the CA issues it offline (`puppetserver ca generate
 * --ca-client`, with the replica's puppetserver stopped) under a serial the primary skipped when
 * its serial was padded, so the two can never collide; the primary's CA then records it
 * (signed/ and inventory.txt) and the next copy carries it back.
 *
 * Trust: the replica's certname, hostname and the certificate it hands over are checked before
 * the primary uses them (src/puppet/names.ts); the certificate must be signed by the primary's CA
 * and its inventory line is parsed and re-emitted, never copied. Backups of the replica's ssldir
 * are never overwritten (src/puppet/ssl-backup.ts). On failure the ssldir is put back and checked
 * against the digest taken before the change; Puppet Server is started again if it ran, and a
 * start that fails, or a put-back that cannot be verified, fails the task naming what to run.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost, type HostFacts } from '../src/host/discover.js';
import { appendLineCommand, readFileCommand, readRegularFileCommand, writeFileCommand } from '../src/host/files.js';
import { serviceCommand } from '../src/host/services.js';
import { caDigestCommand, installCaCommand } from '../src/puppet/ca-dir.js';
import { certInfoCommand, parseCertInfo } from '../src/puppet/certs.js';
import {
  formatInventoryLine,
  formatSerial,
  inventorySerials,
  parseInventoryLine,
  parseSerial,
  unusedSerialBelow,
} from '../src/puppet/ca-serial.js';
import { parseKeyValues } from '../src/util/key-value.js';
import { checkCertname, pathWithin, untrustedValue } from '../src/puppet/names.js';
import {
  backupSslCommand,
  finishBackupCommand,
  leftoverBackupsCommand,
  restoreSslCommand,
  sslBackupPaths,
} from '../src/puppet/ssl-backup.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import {
  hasTransferKey,
  rsyncToReceiver,
  transferParams,
  transferPaths,
  transferSettings,
  type TransferSettings,
} from '../src/puppet/transfer.js';
import { CA_STAGE } from '../src/replication/ca-job.js';
import { underJobLock } from '../src/replication/job-script.js';
import type { HostCommands, PeerCommands, TaskContext } from '../src/task/task.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Syncs the CA to the replica; see the file comment. */
export const syncCa = defineTask({
  name: 'sync_ca',
  description:
    "Copy the primary's CA to the replica (staged, verified, swapped) and ensure the replica's server certificate",
  details: `Run on the primary with receiver=<the replica's inventory name>. Needs setup_transfer first.
Idempotent: an identical CA is not copied, a good replica certificate is not replaced.
replica_cert=false skips the certificate part (the continuous sync uses that).`,
  params: z.object({
    ...transferParams,
    replica_cert: z
      .boolean()
      .default(true)
      .describe("also ensure the replica's server certificate (issuer, DNS alt names, pp_cli_auth)"),
    dns_alt_names: z
      .array(z.string().min(1))
      .optional()
      .describe(
        "common names the replica's certificate must carry (default: the primary's DNS alt names other than its certname)",
      ),
  }),
  supportsNoop: true,
  async run(ctx) {
    const primary = await discoverHost((c) => ctx.read(c));
    if (!primary.hasCa) {
      throw new PefError(
        'pef/task-failed',
        `${ctx.target.name} has no CA in ${primary.paths.cadir || 'its cadir'}: run sync_ca on the primary (the CA server).`,
        {},
      );
    }
    const replica = await ctx.peer(ctx.params.receiver);
    // A demoted (passive) primary must never overwrite a promoted replica: both ends must agree.
    await assertReplicationAllowed(ctx, 'send', 'sync_ca');
    await assertReplicationAllowed(replica, 'receive', 'sync_ca');
    const replicaFacts = await discoverHost((c) => replica.read(c));
    // What the replica says about itself becomes paths and a remote here: checked before any change.
    checkCertname(replicaFacts.certname, { server: replica.target.name, field: 'certname (puppet config print)' });
    const settings = await transferSettings(ctx.params, replica);
    const changes: string[] = [];

    // Owner of the CA files (puppet, pe-puppet …), as the primary has them.
    const caOwner = (await ctx.read(`stat -c %U:%G ${shQuote(primary.paths.cadir)}`)).stdout.trim();
    if (await syncCaFiles(ctx, replica, primary, replicaFacts, settings, caOwner)) changes.push('ca files');
    let certificate: Record<string, unknown> | undefined;
    if (ctx.params.replica_cert) {
      const wanted = ctx.params.dns_alt_names ?? primary.dnsAltNames.filter((n) => n !== primary.certname);
      certificate = await ensureReplicaCert(ctx, replica, primary, replicaFacts, wanted, caOwner);
      if (certificate['changed'] === true) {
        changes.push('replica certificate');
        // The primary's CA now records the new certificate; carry that over too.
        if (!ctx.noop) await syncCaFiles(ctx, replica, primary, replicaFacts, settings, caOwner);
      }
    }
    return {
      changed: changes.length > 0,
      value: {
        receiver: replica.target.name,
        cadir: replicaFacts.paths.cadir,
        updated: changes,
        ...(certificate ? { certificate } : {}),
      },
    };
  },
});

async function syncCaFiles(
  ctx: TaskContext<unknown>,
  replica: HostCommands,
  primary: HostFacts,
  replicaFacts: HostFacts,
  settings: TransferSettings,
  owner: string,
): Promise<boolean> {
  const cadir = replicaFacts.paths.cadir;
  if (!cadir)
    throw new PefError(
      'pef/task-failed',
      `Could not find the cadir on ${replica.target.name} (puppet config print cadir gave nothing). Is Puppet installed there?`,
      {},
    );
  const want = (await ctx.read(caDigestCommand(primary.paths.cadir))).stdout.trim();
  const have = (await replica.read(caDigestCommand(cadir))).stdout.trim();
  const replicaOwner = (await replica.read(`stat -c %U:%G ${shQuote(cadir)} 2>/dev/null || true`)).stdout.trim();
  if (want === have && replicaOwner === owner) return false;

  if (!(await hasTransferKey(ctx, settings))) {
    throw new PefError(
      'pef/task-failed',
      `No transfer key on ${ctx.target.name}: run setup_transfer receiver=${replica.target.name} first. Nothing was changed.`,
      {},
    );
  }
  // The host-side CA jobs (once installed) use the same staging dir and cadir: take their locks.
  await ctx.change(
    underJobLock('sync_ca', rsyncToReceiver(settings, primary.paths.cadir, CA_STAGE, { compress: true })),
  );
  await replica.change(
    underJobLock('receive_ca', installCaCommand(`${transferPaths(settings).incoming}/${CA_STAGE}`, cadir, owner, want)),
  );
  return true;
}

// Long on purpose: issuing, recording and verifying the replica's certificate is one sequence
// whose put-back must see every step's state; it reads top to bottom.
async function ensureReplicaCert(
  ctx: TaskContext<unknown>,
  replica: PeerCommands,
  primary: HostFacts,
  replicaFacts: HostFacts,
  wantedNames: string[],
  caOwner: string,
): Promise<Record<string, unknown>> {
  // Checked in run() before anything was changed: it becomes a path under the primary's cadir.
  const certname = replicaFacts.certname;
  const certPath = `${replicaFacts.paths.ssldir}/certs/${certname}.pem`;
  const caSubject = parseCertInfo(
    (await ctx.read(certInfoCommand(`${primary.paths.cadir}/ca_crt.pem`))).stdout,
  ).subject;
  const cert = parseCertInfo((await replica.read(certInfoCommand(certPath))).stdout);
  const names = [certname, ...wantedNames.filter((n) => n !== certname)];
  const missing = names.filter((n) => !cert.dnsNames.includes(n));
  const problems = [
    ...(cert.exists ? [] : ['no certificate']),
    ...(cert.exists && cert.issuer !== caSubject ? [`issued by ${cert.issuer}, not the shared CA ${caSubject}`] : []),
    ...(cert.exists && missing.length ? [`lacks DNS names ${missing.join(', ')}`] : []),
    ...(cert.exists && !cert.cliAuth ? ['lacks pp_cli_auth'] : []),
  ];
  if (problems.length === 0) return { changed: false, certname, dns_names: cert.dnsNames };

  ctx.log(`replica certificate ${certname}: ${problems.join('; ')}; issuing a new one`);
  if (ctx.noop) {
    // The primary records what the replica issues, then the CA is copied again: a dry run never
    // has that certificate, so a runbook stops here, before this part changes anything.
    const signed = pathWithin(`${primary.paths.cadir}/signed`, `${certname}.pem`, {
      server: replica.target.name,
      field: 'certname',
    });
    await ctx.change(writeFileCommand(signed, { mode: '644', owner: caOwner }), {
      runTimeInput: `the certificate ${replica.target.name}'s copy of the CA issues (then checked and recorded on ${ctx.target.name}, and the CA copied again)`,
    });
  }
  const cadir = replicaFacts.paths.cadir;
  const ssldir = replicaFacts.paths.ssldir;
  const replicaName = replica.target.name;

  // A backup left by a run that died mid-change may be the only good copy: never overwrite it.
  const leftovers = parseKeyValues((await replica.read(leftoverBackupsCommand(ssldir))).stdout);
  const pending = leftovers.get('pending');
  if (pending !== undefined) {
    throw new PefError(
      'pef/task-failed',
      `${replicaName} has a backup of ${ssldir} from an interrupted sync_ca run: ${pending}. ${ssldir} may be half-changed. ` +
        `Compare the two; to go back run \`rm -rf ${ssldir} && cp -a ${pending} ${ssldir}\` there, or if ${ssldir} is good, keep the backup as \`mv ${pending} ${pending.replace(/\.pending$/, '')}\`. Then run sync_ca again. Nothing was changed.`,
      { receiver: replicaName, backup: pending },
    );
  }

  // A serial the primary skipped (pad_serial leaves a gap) and never issued: the replica's copy of
  // the CA may use it without ever colliding with the primary.
  const serialText = (await ctx.read(readRegularFileCommand(`${primary.paths.cadir}/serial`))).stdout;
  const next = parseSerial(serialText, `${primary.paths.cadir}/serial`);
  const used = inventorySerials((await ctx.read(readFileCommand(`${primary.paths.cadir}/inventory.txt`))).stdout);
  const serial = unusedSerialBelow(next.value, used);
  if (serial === undefined) {
    throw new PefError(
      'pef/task-failed',
      `The primary's CA has no unused serial below its next one (0x${next.value.toString(16)}): run pad_serial on ${ctx.target.name} first, then sync_ca again. Nothing was changed on ${certname}.`,
      {},
    );
  }

  // `puppetserver ca generate --ca-client` signs offline (the only way to get pp_cli_auth: the CA
  // refuses CSRs that ask for it), so the replica's own puppetserver must not run meanwhile.
  const manager = replicaFacts.serviceManager;
  const server =
    replicaFacts.services.find((s) => (s.name === 'puppetserver' || s.name === 'pe-puppetserver') && s.present)?.name ??
    'puppetserver';
  const serverWasRunning = replicaFacts.services.some((s) => s.name === server && s.running);
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const backup = sslBackupPaths(ssldir, stamp);
  let digest: string | undefined;
  let failure: unknown;
  try {
    if (serverWasRunning) await replica.change(serviceCommand(manager, 'stop', server));
    const copied = await replica.change(backupSslCommand(ssldir, stamp));
    digest = ctx.noop ? 'noop' : parseKeyValues(copied?.stdout ?? '').get('digest');
    if (!digest) throw new Error(`the backup of ${ssldir} printed no digest`);
    await replica.change(
      `cd ${shQuote(ssldir)} && rm -f ${['certs', 'private_keys', 'public_keys', 'certificate_requests'].map((d) => shQuote(`${d}/${certname}.pem`)).join(' ')}` +
        // In the replica's CA copy only: the next sync brings the primary's files back.
        ` && rm -f ${shQuote(`${cadir}/signed/${certname}.pem`)}`,
    );
    await replica.change(writeFileCommand(`${cadir}/serial`, 'keep'), { stdin: formatSerial(serial, next) });
    await replica.change(generateCertCommand(certname, names), { stdin: generateConfig(replicaFacts) });
    if (!ctx.noop) await recordOnPrimary(ctx, replica, primary, certname, certPath, serial, caOwner);
    await replica.change(finishBackupCommand(ssldir, stamp));
  } catch (error) {
    failure = error;
  }
  const restore =
    failure !== undefined && digest !== undefined ? await putBack(replica.cleanup, ssldir, stamp, digest) : undefined;
  const serverState = serverWasRunning && !ctx.noop ? await startServer(replica.cleanup, manager, server) : undefined;
  if (failure !== undefined || serverState !== undefined) {
    const cause =
      failure === undefined ? '' : `Could not issue a certificate for ${certname}: ${failureText(failure)}\n`;
    const sslState =
      failure === undefined
        ? `The new certificate is in place (backup: ${backup.done}).`
        : digest === undefined
          ? `${ssldir} on ${replicaName} was not changed.`
          : (restore ??
            `${ssldir} on ${replicaName} was put back from ${backup.pending} and checked against its digest.`);
    throw new PefError(
      'pef/task-failed',
      `${cause}${sslState}${serverState ? ` ${serverState}` : ''} Run sync_ca again once the cause is fixed.`,
      {
        certname,
        receiver: replicaName,
        backup: backup.done,
        putBack: failure !== undefined && digest !== undefined && restore === undefined,
        serverRunning: serverState === undefined,
      },
    );
  }
  const after = ctx.noop ? cert : parseCertInfo((await replica.read(certInfoCommand(certPath))).stdout);
  return {
    changed: true,
    certname,
    serial: `0x${serial.toString(16).toUpperCase()}`,
    dns_names: after.dnsNames,
    cli_auth: after.cliAuth,
    ssldir_backup: backup.done,
    was: problems,
  };
}

/**
 * The offline `puppetserver ca generate` on the replica, its puppet.conf (on stdin) in a fresh
 * 0700 `mktemp -d` dir that is removed afterwards: no fixed name anyone could plant.
 */
export function generateCertCommand(certname: string, names: readonly string[]): string {
  return [
    'd=$(mktemp -d -t pef-ca-generate.XXXXXX) || exit 1',
    `trap 'rm -rf -- "$d"' EXIT`,
    'cat > "$d/puppet.conf" || exit 1',
    `puppetserver ca generate --config "$d/puppet.conf" --certname ${shQuote(certname)} --subject-alt-names ${shQuote(names.join(','))} --ca-client --force`,
  ].join('\n');
}

/** Checks (on the primary) that a PEM is one certificate the primary's CA signed; exits non-zero otherwise. */
export function verifyIssuedCommand(caCert: string): string {
  return `c=$(cat) && printf '%s\\n' "$c" | openssl verify -CAfile ${shQuote(caCert)} /dev/stdin`;
}

// Records the certificate the replica issued in the primary's CA (signed/ and inventory.txt), so
// it is listed, synced and revocable there. What the replica hands over is checked first: one PEM
// certificate, signed by this CA, with the serial chosen and the replica's certname.
async function recordOnPrimary(
  ctx: TaskContext<unknown>,
  replica: HostCommands,
  primary: HostFacts,
  certname: string,
  certPath: string,
  serial: bigint,
  caOwner: string,
): Promise<void> {
  const from = { server: replica.target.name, field: `certificate ${certPath}` };
  const issued = (await replica.read(`cat ${shQuote(certPath)}`)).stdout;
  if (!/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/.test(issued)) {
    throw untrustedValue(from, issued, 'it must be exactly one PEM certificate');
  }
  const cadir = primary.paths.cadir;
  await ctx.read(verifyIssuedCommand(`${cadir}/ca_crt.pem`), { stdin: issued });
  const signed = pathWithin(`${cadir}/signed`, `${certname}.pem`, { server: replica.target.name, field: 'certname' });
  await ctx.change(writeFileCommand(signed, { mode: '644', owner: caOwner }), { stdin: issued });
  const line = (await ctx.read(inventoryLineCommand(signed))).stdout.trim();
  const entry = parseInventoryLine(line);
  if (!entry || entry.serial !== serial || entry.certname !== certname) {
    throw untrustedValue(from, line, `its inventory line must be serial 0x${serial.toString(16)}, /CN=${certname}`);
  }
  await ctx.change(appendLineCommand(`${cadir}/inventory.txt`, formatInventoryLine(entry)));
}

// A failed command as its first line, exit code and stderr tail (the whole multi-line command is
// in the debug log); other errors as they are.
function failureText(error: unknown): string {
  if (error instanceof PefError && error.kind === 'pef/command-failed') {
    const command = String(error.details['command']).split('\n');
    const raw = error.details['stderr'];
    const stderr = (typeof raw === 'string' ? raw : '').trim().split('\n').slice(-3).join(' ');
    return `\`${command[0] ?? ''}${command.length > 1 ? ' …' : ''}\` exited with ${String(error.details['exitCode'])}${stderr ? `: ${stderr}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

// Puts the ssldir back from the run's backup; undefined when done and checked, else what to do.
async function putBack(
  replica: HostCommands,
  ssldir: string,
  stamp: string,
  digest: string,
): Promise<string | undefined> {
  const { pending } = sslBackupPaths(ssldir, stamp);
  try {
    const out = await replica.change(restoreSslCommand(ssldir, stamp, digest));
    if (out === undefined || parseKeyValues(out.stdout).get('restored') === 'yes') return undefined;
    throw new Error('the copy back did not confirm');
  } catch (error) {
    return (
      `${ssldir} on ${replica.target.name} could NOT be put back (${(error as Error).message}); the backup is ${pending}: ` +
      `run \`rm -rf ${ssldir} && cp -a ${pending} ${ssldir}\` there.`
    );
  }
}

// Starts Puppet Server again and checks it runs; undefined when it does, else what to run.
async function startServer(
  replica: HostCommands,
  manager: HostFacts['serviceManager'],
  server: string,
): Promise<string | undefined> {
  const start = serviceCommand(manager, 'start', server);
  try {
    await replica.change(start);
    const status = await replica.read(serviceCommand(manager, 'status', server), {
      okExitCodes: [0, 1, 2, 3, 4, 5, 7],
    });
    if (status.exitCode === 0) return undefined;
    return `${server} on ${replica.target.name} is not running after \`${start}\` (status exit ${status.exitCode}): run \`${start}\` there and check its log.`;
  } catch (error) {
    return `${server} on ${replica.target.name} did not start (${(error as Error).message.split('\n')[0] ?? ''}): run \`${start}\` there and check its log.`;
  }
}

/**
 * puppet.conf for the offline `ca generate` on the replica: its own CA copy and ssldir, and the
 * replica itself as CA server, so the CLI's "is a CA server running?" check asks the (stopped)
 * replica instead of the live primary its agent points at.
 */
function generateConfig(replica: HostFacts): string {
  const { certname, paths } = replica;
  return `[main]\ncertname = ${certname}\nssldir = ${paths.ssldir}\ncadir = ${paths.cadir}\nserver = ${certname}\nca_server = ${certname}\n`;
}

/** Prints the inventory.txt line for a certificate: `0x%04x <notBefore> <notAfter> /CN=<name>` in UTC. */
export function inventoryLineCommand(certPath: string): string {
  const p = shQuote(certPath);
  return (
    `serial=$(openssl x509 -in ${p} -noout -serial | cut -d= -f2); ` +
    `nb=$(date -u -d "$(openssl x509 -in ${p} -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SUTC); ` +
    `na=$(date -u -d "$(openssl x509 -in ${p} -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SUTC); ` +
    `cn=$(openssl x509 -in ${p} -noout -subject -nameopt RFC2253 | sed 's/^subject=//'); ` +
    `printf '0x%04x %s %s /%s\\n' "0x$serial" "$nb" "$na" "$cn"`
  );
}
