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
 * (signed/ and inventory.txt) and the next copy carries it back. On failure the replica's ssl
 * directory is put back and its puppetserver started again if it ran.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost, type HostFacts } from '../src/host/discover.js';
import { readFileCommand, writeFileCommand } from '../src/host/files.js';
import { serviceCommand } from '../src/host/services.js';
import { caDigestCommand, installCaCommand } from '../src/puppet/ca-dir.js';
import { certInfoCommand, parseCertInfo } from '../src/puppet/certs.js';
import { formatSerial, inventorySerials, parseSerial, unusedSerialBelow } from '../src/puppet/ca-serial.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import {
  hasTransferKey,
  rsyncToReceiver,
  transferParams,
  transferPaths,
  transferSettings,
  type TransferSettings,
} from '../src/puppet/transfer.js';
import type { HostCommands, TaskContext } from '../src/task/task.js';
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
  await ctx.change(rsyncToReceiver(settings, primary.paths.cadir, 'ca'));
  await replica.change(installCaCommand(`${transferPaths(settings).incoming}/ca`, cadir, owner, want));
  return true;
}

async function ensureReplicaCert(
  ctx: TaskContext<unknown>,
  replica: HostCommands,
  primary: HostFacts,
  replicaFacts: HostFacts,
  wantedNames: string[],
  caOwner: string,
): Promise<Record<string, unknown>> {
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
  const cadir = replicaFacts.paths.cadir;
  const ssldir = replicaFacts.paths.ssldir;
  const backup = `${ssldir}.pef-backup`;
  const genConf = `/tmp/pef-ca-generate-${certname}.conf`;

  // A serial the primary skipped (pad_serial leaves a gap) and never issued: the replica's copy of
  // the CA may use it without ever colliding with the primary.
  const serialText = (await ctx.read(`cat ${shQuote(`${primary.paths.cadir}/serial`)}`)).stdout;
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
  let replicaSslTouched = false;
  try {
    if (serverWasRunning) await replica.change(serviceCommand(manager, 'stop', server));
    await replica.change(`rm -rf ${shQuote(backup)} && cp -a ${shQuote(ssldir)} ${shQuote(backup)}`);
    replicaSslTouched = true;
    await replica.change(writeFileCommand(genConf, { mode: '600' }), { stdin: generateConfig(replicaFacts) });
    await replica.change(
      `cd ${shQuote(ssldir)} && rm -f ${['certs', 'private_keys', 'public_keys', 'certificate_requests'].map((d) => shQuote(`${d}/${certname}.pem`)).join(' ')}` +
        // In the replica's CA copy only: the next sync brings the primary's files back.
        ` && rm -f ${shQuote(`${cadir}/signed/${certname}.pem`)}` +
        ` && printf '%s' ${shQuote(formatSerial(serial, next))} > ${shQuote(`${cadir}/serial`)}` +
        ` && puppetserver ca generate --config ${shQuote(genConf)} --certname ${shQuote(certname)} --subject-alt-names ${shQuote(names.join(','))} --ca-client --force` +
        ` ; rc=$?; rm -f ${shQuote(genConf)}; exit $rc`,
    );
    // Record the certificate in the primary's CA, so it is listed, synced and revocable there.
    const issued = ctx.noop ? '' : (await replica.read(`cat ${shQuote(`${ssldir}/certs/${certname}.pem`)}`)).stdout;
    const line = ctx.noop ? '' : (await replica.read(inventoryLineCommand(`${ssldir}/certs/${certname}.pem`))).stdout;
    await ctx.change(
      writeFileCommand(`${primary.paths.cadir}/signed/${certname}.pem`, { mode: '644', owner: caOwner }),
      { stdin: issued },
    );
    await ctx.change(`printf '%s\\n' ${shQuote(line.trim())} >> ${shQuote(`${primary.paths.cadir}/inventory.txt`)}`);
  } catch (error) {
    if (replicaSslTouched)
      await replica
        .change(`rm -rf ${shQuote(ssldir)} && cp -a ${shQuote(backup)} ${shQuote(ssldir)}`)
        .catch(() => undefined);
    throw new PefError(
      'pef/task-failed',
      `Could not issue a certificate for ${certname}: ${(error as Error).message}\n` +
        `${replicaSslTouched ? `${certname}'s ssl directory was put back from ${backup}.` : `Nothing was changed on ${certname}.`} Run sync_ca again once the cause is fixed.`,
      { certname, replicaSslTouched },
    );
  } finally {
    if (serverWasRunning && !ctx.noop)
      await replica.change(serviceCommand(manager, 'start', server)).catch(() => undefined);
  }
  const after = ctx.noop ? cert : parseCertInfo((await replica.read(certInfoCommand(certPath))).stdout);
  return {
    changed: true,
    certname,
    serial: `0x${serial.toString(16).toUpperCase()}`,
    dns_names: after.dnsNames,
    cli_auth: after.cliAuth,
    ssldir_backup: backup,
    was: problems,
  };
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
function inventoryLineCommand(certPath: string): string {
  const p = shQuote(certPath);
  return (
    `serial=$(openssl x509 -in ${p} -noout -serial | cut -d= -f2); ` +
    `nb=$(date -u -d "$(openssl x509 -in ${p} -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SUTC); ` +
    `na=$(date -u -d "$(openssl x509 -in ${p} -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SUTC); ` +
    `cn=$(openssl x509 -in ${p} -noout -subject -nameopt RFC2253 | sed 's/^subject=//'); ` +
    `printf '0x%04x %s %s /%s\\n' "0x$serial" "$nb" "$na" "$cn"`
  );
}
