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
 * replica after promotion. If it does not, the replica submits a new CSR and the primary signs
 * it; for that moment the primary's ca.conf allows SANs and authorization extensions, and is put
 * back afterwards, whatever happens.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost, type HostFacts } from '../src/host/discover.js';
import { readFileCommand, writeFileCommand } from '../src/host/files.js';
import { parseServiceManager, SERVICE_MANAGER_PROBE, serviceCommand } from '../src/host/services.js';
import { caDigestCommand, installCaCommand } from '../src/puppet/ca-dir.js';
import { certInfoCommand, parseCertInfo } from '../src/puppet/certs.js';
import { rsyncToReceiver, transferPaths } from '../src/puppet/transfer.js';
import type { HostCommands, TaskContext } from '../src/task/task.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';
import { transferParams, transferSettings } from './setup-transfer.js';

/** Syncs the CA to the replica; see the file comment. */
export const syncCa = defineTask({
  name: 'sync_ca',
  description: "Copy the primary's CA to the replica (staged, verified, swapped) and ensure the replica's server certificate",
  details: `Run on the primary with receiver=<the replica's inventory name>. Needs setup_transfer first.
Idempotent: an identical CA is not copied, a good replica certificate is not replaced.
replica_cert=false skips the certificate part (the continuous sync uses that).`,
  params: z.object({
    ...transferParams,
    replica_cert: z.boolean().default(true).describe("also ensure the replica's server certificate (issuer, DNS alt names, pp_cli_auth)"),
    dns_alt_names: z.array(z.string().min(1)).optional().describe("common names the replica's certificate must carry (default: the primary's DNS alt names other than its certname)"),
  }),
  supportsNoop: true,
  async run(ctx) {
    const primary = await discoverHost((c) => ctx.read(c));
    if (!primary.hasCa) {
      throw new PefError('pef/task-failed', `${ctx.target.name} has no CA in ${primary.paths.cadir || 'its cadir'}: run sync_ca on the primary (the CA server).`, {});
    }
    const replica = await ctx.peer(ctx.params.receiver);
    const replicaFacts = await discoverHost((c) => replica.read(c));
    const settings = await transferSettings(ctx.params, replica);
    const changes: string[] = [];

    if (await syncCaFiles(ctx, replica, primary, replicaFacts, settings)) changes.push('ca files');
    let certificate: Record<string, unknown> | undefined;
    if (ctx.params.replica_cert) {
      const wanted = ctx.params.dns_alt_names ?? primary.dnsAltNames.filter((n) => n !== primary.certname);
      certificate = await ensureReplicaCert(ctx, replica, primary, replicaFacts, wanted);
      if (certificate['changed'] === true) changes.push('replica certificate');
    }
    return { changed: changes.length > 0, value: { receiver: replica.target.name, cadir: replicaFacts.paths.cadir, updated: changes, ...(certificate ? { certificate } : {}) } };
  },
});

async function syncCaFiles(ctx: TaskContext<unknown>, replica: HostCommands, primary: HostFacts, replicaFacts: HostFacts, settings: Awaited<ReturnType<typeof transferSettings>>): Promise<boolean> {
  const cadir = replicaFacts.paths.cadir;
  if (!cadir) throw new PefError('pef/task-failed', `Could not find the cadir on ${replica.target.name} (puppet config print cadir gave nothing). Is Puppet installed there?`, {});
  const want = (await ctx.read(caDigestCommand(primary.paths.cadir))).stdout.trim();
  const have = (await replica.read(caDigestCommand(cadir))).stdout.trim();
  const owner = (await ctx.read(`stat -c %U:%G ${shQuote(primary.paths.cadir)}`)).stdout.trim();
  const replicaOwner = (await replica.read(`stat -c %U:%G ${shQuote(cadir)} 2>/dev/null || true`)).stdout.trim();
  if (want === have && replicaOwner === owner) return false;

  const keyExists = (await ctx.read(`test -f ${shQuote(transferPaths(settings).key)} && echo yes || echo no`)).stdout.trim() === 'yes';
  if (!keyExists) {
    throw new PefError('pef/task-failed', `No transfer key on ${ctx.target.name}: run setup_transfer receiver=${replica.target.name} first. Nothing was changed.`, {});
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
): Promise<Record<string, unknown>> {
  const certname = replicaFacts.certname;
  const certPath = `${replicaFacts.paths.ssldir}/certs/${certname}.pem`;
  const caSubject = parseCertInfo((await ctx.read(certInfoCommand(`${primary.paths.cadir}/ca_crt.pem`))).stdout).subject;
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

  ctx.log(`replica certificate ${certname}: ${problems.join('; ')}; requesting a new one from the primary CA`);
  const caConf = await findCaConf(ctx, primary);
  const original = (await ctx.read(readFileCommand(caConf))).stdout;
  const manager = parseServiceManager((await ctx.read(SERVICE_MANAGER_PROBE)).stdout);
  const server = primary.services.find((s) => s.name === 'puppetserver' || s.name === 'pe-puppetserver')?.name ?? 'puppetserver';
  const backup = `${replicaFacts.paths.ssldir}.pef-backup`;
  const attrs = `/tmp/pef-csr-attributes-${certname}.yaml`;
  try {
    await ctx.change(writeFileCommand(caConf, { mode: '644' }), { stdin: allowSigning(original) });
    await ctx.change(serviceCommand(manager, 'reload', server));
    // The old certificate (if any) must go, or the CA refuses a new request for the name.
    await ctx.change(`puppetserver ca clean --certname ${shQuote(certname)} >/dev/null 2>&1 || true`);
    await replica.change(`rm -rf ${shQuote(backup)} && cp -a ${shQuote(replicaFacts.paths.ssldir)} ${shQuote(backup)}`);
    await replica.change(
      `cd ${shQuote(replicaFacts.paths.ssldir)} && rm -f ${['certs', 'private_keys', 'public_keys', 'certificate_requests'].map((d) => shQuote(`${d}/${certname}.pem`)).join(' ')}`,
    );
    await replica.change(writeFileCommand(attrs, { mode: '600' }), { stdin: 'extension_requests:\n  pp_cli_auth: "true"\n' });
    await replica.change(
      `puppet ssl submit_request --certname ${shQuote(certname)} --dns_alt_names ${shQuote(names.join(','))} --csr_attributes ${shQuote(attrs)} --server ${shQuote(primary.certname)} --ca_server ${shQuote(primary.certname)}`,
    );
    await ctx.change(`puppetserver ca sign --certname ${shQuote(certname)}`);
    await replica.change(`puppet ssl download_cert --certname ${shQuote(certname)} --server ${shQuote(primary.certname)} --ca_server ${shQuote(primary.certname)} && rm -f ${shQuote(attrs)}`);
  } finally {
    // Put the CA's signing policy back whatever happened above.
    if (!ctx.noop) {
      await ctx.change(writeFileCommand(caConf, { mode: '644' }), { stdin: original });
      await ctx.change(serviceCommand(manager, 'reload', server));
    }
  }
  const after = ctx.noop ? cert : parseCertInfo((await replica.read(certInfoCommand(certPath))).stdout);
  return { changed: true, certname, dns_names: after.dnsNames, cli_auth: after.cliAuth, previous_ssldir_backup: backup, was: problems };
}

/** The primary's ca.conf: Debian keeps it under confdir, the AIO packages beside it. */
async function findCaConf(ctx: HostCommands, primary: HostFacts): Promise<string> {
  const confdir = primary.paths.confdir;
  const candidates = [`${confdir}/puppetserver/conf.d/ca.conf`, `${confdir.replace(/\/puppet$/, '')}/puppetserver/conf.d/ca.conf`];
  const found = (await ctx.read(`for f in ${candidates.map(shQuote).join(' ')}; do [ -f "$f" ] && { echo "$f"; break; }; done; true`)).stdout.trim();
  if (!found) throw new PefError('pef/task-failed', `No puppetserver ca.conf on ${ctx.target.name} (looked at ${candidates.join(', ')}).`, { candidates });
  return found;
}

/** ca.conf text with SANs and authorization extensions allowed (commented defaults replaced, else added). */
export function allowSigning(caConf: string): string {
  let text = caConf;
  for (const key of ['allow-subject-alt-names', 'allow-authorization-extensions']) {
    const line = new RegExp(`^(\\s*)#?\\s*${key}\\s*[:=].*$`, 'm');
    text = line.test(text) ? text.replace(line, `$1${key}: true`) : text.replace(/certificate-authority\s*:?\s*\{/, (m) => `${m}\n    ${key}: true`);
  }
  return text;
}
