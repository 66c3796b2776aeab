/**
 * configure_replica (open-source Puppet): run on the primary with receiver=<replica>. Gives the
 * replica its own servers, configured as the primary's are:
 *
 * - Puppet Server with the CA service disabled (services.d/ca.cfg loads
 *   certificate-authority-disabled-service, as Puppet documents for compilers): only the
 *   primary signs; `set_mode`/`promote` turn it on at promotion;
 * - its own PuppetDB on its own PostgreSQL database: the role and database created if missing
 *   (the password stays in the replica's database.ini, see src/puppet/replica-servers.ts),
 *   database.ini and jetty.ini as the primary's but pointing at the replica's database, address
 *   and certificate (copied from its Puppet ssldir, which sync_ca filled);
 * - its terminus (puppetdb.conf, routes.yaml, puppet.conf [server] storeconfigs and reports)
 *   pointing at its own PuppetDB first;
 * - postgresql, puppetdb and puppetserver running and answering `running` on /status/v1/simple
 *   (curl with the replica's certificate). A service whose configuration changed is restarted.
 *
 * Code: reports the environments that differ between the two servers (by digest); with
 * code=rsync copies the primary's environments/ through the transfer channel (setup_transfer).
 * A failed step starts the three services again and says which run.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import type { HostFacts } from '../src/host/discover.js';
import { discoverPair } from '../src/host/discover-pair.js';
import { makeDirCommand, readFileCommand, writeFileCommand } from '../src/host/files.js';
import { readServiceStatus, serviceCommand } from '../src/host/services.js';
import { caCfgMissing, findCaCfgCommand, setCaService } from '../src/puppet/ca-service.js';
import {
  codeDrift,
  environmentsDigestCommand,
  installEnvironmentsCommand,
  parseEnvironmentDigests,
} from '../src/puppet/code-drift.js';
import { ownFirstPuppetdbConf, puppetdbUrl } from '../src/puppet/puppetdb-conf.js';
import {
  copyHostFileCommand,
  databaseCheckCommand,
  ensureDatabaseCommand,
  findPuppetdbConfDirCommand,
  healthCommand,
  hostTlsCommand,
  isWildcardHost,
  parseDatabaseCheck,
  parseDatabaseIni,
  parseHostTls,
  puppetdbSslPaths,
  redactedIniCommand,
  replicaDatabaseIni,
  replicaJettyIni,
  resolveAddressCommand,
  sameContentCommand,
  writeDatabaseIniCommand,
} from '../src/puppet/replica-servers.js';
import { iniGet } from '../src/puppet/ini-file.js';
import {
  hasTransferKey,
  rsyncToReceiver,
  transferParams,
  transferPaths,
  transferSettings,
} from '../src/puppet/transfer.js';
import { parseKeyValues } from '../src/util/key-value.js';
import { shQuote } from '../src/util/shell-quote.js';
import type { HostCommands } from '../src/task/task.js';
import { defineTask } from '../src/task/task.js';

const SERVICES = ['postgresql', 'puppetdb', 'puppetserver'] as const;
const SERVER_SETTINGS = ['storeconfigs', 'storeconfigs_backend', 'reports', 'route_file'] as const;

const fail = (message: string, details: Record<string, unknown> = {}): PefError =>
  new PefError('pef/task-failed', `configure_replica: ${message}`, details);

async function serverSettings(host: HostCommands, facts: HostFacts): Promise<Map<string, string>> {
  const out = await host.read(
    `${shQuote(facts.paths.puppet)} config print ${SERVER_SETTINGS.join(' ')} --section server 2>/dev/null | sed -n 's/^\\([a-z_]*\\) = \\(.*\\)$/\\1=\\2/p'`,
  );
  return parseKeyValues(out.stdout);
}

async function puppetdbConfDir(host: HostCommands, facts: HostFacts): Promise<string> {
  const dir = (await host.read(findPuppetdbConfDirCommand(facts.paths.confdir))).stdout.trim();
  if (!dir)
    throw fail(
      `no PuppetDB configuration (conf.d) on ${host.target.name}: is the puppetdb package installed? Nothing was changed.`,
    );
  return dir;
}

/** Configures the replica's own servers; see the file comment. */
export const configureReplica = defineTask({
  name: 'configure_replica',
  description: 'Give the oss replica its own Puppet Server (CA off) and PuppetDB on its own database, healthy',
  details: `Run on the primary with receiver=<replica>, after sync_ca (the replica needs its certificate).
Copies the primary's PuppetDB and terminus settings, pointed at the replica's own database, address and
certificate; creates the PuppetDB role and database if missing (the password never leaves the replica);
disables the CA service in ca.cfg; starts or restarts what changed and waits for /status/v1/simple.
code=report (default) lists environments that differ; code=rsync copies the primary's environments/.
Open-source Puppet only (PE: provision_replica).`,
  params: z.object({
    ...transferParams,
    code: z
      .enum(['report', 'rsync'])
      .default('report')
      .describe('report code drift, or rsync environments/ to the replica'),
    wait_seconds: z
      .number()
      .int()
      .min(10)
      .max(1800)
      .default(300)
      .describe('how long to wait for the services to answer'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const replica = await ctx.peer(ctx.params.receiver);
    const pair = await discoverPair(ctx, replica, {
      task: 'configure_replica',
      ossOnly: 'use provision_replica for PE.',
    });
    const [pf, rf, own] = [pair.primary.facts, pair.replica.facts, pair.replica.certname];
    const missing = SERVICES.filter((s) => !rf.services.find((f) => f.name === s)?.present);
    if (missing.length > 0)
      throw fail(
        `${replica.target.name} has no ${missing.join(', ')} service: install the same packages as on the primary. Nothing was changed.`,
      );
    if (!rf.postgres.bin) throw fail(`no PostgreSQL tools on ${replica.target.name}. Nothing was changed.`);
    const pg = { bin: rf.postgres.bin, superuser: rf.postgres.superuser };
    const changes: string[] = [];
    const restart = { puppetdb: false, puppetserver: false };
    const write = async (path: string, before: string, after: string, mode: string, service: keyof typeof restart) => {
      if (before === after) return;
      await replica.change(writeFileCommand(path, before === '' ? { mode } : 'keep'), { stdin: after });
      changes.push(path);
      restart[service] = true;
    };

    // Puppet Server: CA off, terminus settings as the primary's, its own PuppetDB first.
    const caCfg = (await replica.read(findCaCfgCommand(rf.paths.confdir))).stdout.trim();
    if (!caCfg) throw caCfgMissing(replica.target.name, rf.paths.confdir);
    const caText = (await replica.read(readFileCommand(caCfg))).stdout;
    await write(caCfg, caText, setCaService(caText, false), '644', 'puppetserver');
    const [pSet, rSet] = [await serverSettings(ctx, pf), await serverSettings(replica, rf)];
    for (const key of ['storeconfigs', 'storeconfigs_backend', 'reports'] as const) {
      const want = pSet.get(key);
      if (want === undefined || want === rSet.get(key)) continue;
      await replica.change(`${shQuote(rf.paths.puppet)} config set --section server ${key} ${shQuote(want)}`);
      changes.push(`puppet.conf [server] ${key} = ${want}`);
      restart.puppetserver = true;
    }
    const pRoutes = pSet.get('route_file');
    const rRoutes = rSet.get('route_file');
    if (pRoutes && rRoutes) {
      const want = (await ctx.read(readFileCommand(pRoutes))).stdout;
      if (want !== '')
        await write(rRoutes, (await replica.read(readFileCommand(rRoutes))).stdout, want, '644', 'puppetserver');
    }
    const pdbConf = `${rf.paths.confdir}/puppetdb.conf`;
    const pdbText = (await replica.read(readFileCommand(pdbConf))).stdout;
    await write(pdbConf, pdbText, ownFirstPuppetdbConf(pdbText, puppetdbUrl(own)), '644', 'puppetserver');

    // PuppetDB: database.ini and jetty.ini as the primary's, on the replica's own database and address.
    const [pDir, rDir] = [await puppetdbConfDir(ctx, pf), await puppetdbConfDir(replica, rf)];
    const primaryDb = parseDatabaseIni((await ctx.read(redactedIniCommand(`${pDir}/conf.d/database.ini`))).stdout);
    if (!primaryDb)
      throw fail(
        `no usable [database] subname in ${ctx.target.name}:${pDir}/conf.d/database.ini. Nothing was changed.`,
      );
    const dbIni = `${rDir}/conf.d/database.ini`;
    const dbText = (await replica.read(redactedIniCommand(dbIni))).stdout;
    const dbWant = replicaDatabaseIni(dbText, primaryDb, own);
    if (dbWant !== dbText) {
      await replica.change(writeDatabaseIniCommand(dbIni), { stdin: dbWant });
      changes.push(dbIni);
      restart.puppetdb = true;
    }
    const replicaDb = parseDatabaseIni(dbWant)!;
    const pSslHost = iniGet((await ctx.read(readFileCommand(`${pDir}/conf.d/jetty.ini`))).stdout, 'jetty', 'ssl-host');
    const sslHost = isWildcardHost(pSslHost)
      ? '0.0.0.0'
      : (await replica.read(resolveAddressCommand(own))).stdout.trim();
    if (!sslHost)
      throw fail(
        `${own} does not resolve on ${replica.target.name}; add it to DNS or /etc/hosts. Nothing was changed.`,
      );
    const jettyIni = `${rDir}/conf.d/jetty.ini`;
    const jettyText = (await replica.read(readFileCommand(jettyIni))).stdout;
    await write(jettyIni, jettyText, replicaJettyIni(jettyText, rDir, sslHost), '644', 'puppetdb');
    const tls = parseHostTls((await replica.read(hostTlsCommand(rf.paths.puppet))).stdout);
    if (!tls)
      throw fail(
        `could not read the certificate paths of ${replica.target.name} (puppet config print hostcert). Nothing was changed.`,
      );
    const ssl = puppetdbSslPaths(rDir);
    const copies = [
      [tls.key, ssl.key, '600'],
      [tls.cert, ssl.cert, '644'],
      [tls.ca, ssl.ca, '644'],
    ] as const;
    const stale = [];
    for (const copy of copies)
      if ((await replica.read(sameContentCommand(copy[0], copy[1]))).stdout.trim() !== 'same=1') stale.push(copy);
    if (stale.length > 0) {
      if ((await replica.read(`test -f ${shQuote(tls.cert)} && echo yes || echo no`)).stdout.trim() !== 'yes')
        throw fail(`${replica.target.name} has no certificate (${tls.cert}): run sync_ca first. Nothing was changed.`);
      await replica.change(makeDirCommand(ssl.dir, { mode: '700', owner: 'puppetdb', group: 'puppetdb' }));
      for (const [src, dst, mode] of stale) await replica.change(copyHostFileCommand(src, dst, 'puppetdb', mode));
      changes.push(`${ssl.dir}/ (${stale.length} file(s) from the host's certificate)`);
      restart.puppetdb = true;
    }

    // Services, database first; on failure they are started again and their state reported.
    const running = async (name: string) => (await readServiceStatus(replica, rf.serviceManager, name)) === 'running';
    let step = 'postgresql';
    try {
      if (!(await running('postgresql'))) {
        await replica.change(serviceCommand(rf.serviceManager, 'start', 'postgresql'));
        changes.push('started postgresql');
      }
      step = 'the PuppetDB database';
      const check =
        ctx.noop && changes.includes('started postgresql')
          ? null
          : parseDatabaseCheck((await replica.read(databaseCheckCommand(pg, dbIni, replicaDb))).stdout);
      if (!check || !check.role || !check.database || !check.trgm || !check.login) {
        await replica.change(ensureDatabaseCommand(pg, dbIni, replicaDb));
        changes.push(`database ${replicaDb.database} (role ${replicaDb.username})`);
        restart.puppetdb = true;
        if (
          !ctx.noop &&
          !parseDatabaseCheck((await replica.read(databaseCheckCommand(pg, dbIni, replicaDb))).stdout).login
        )
          throw fail(
            `${replicaDb.username} cannot log in to ${replicaDb.host}:${replicaDb.port}/${replicaDb.database} on ${replica.target.name} with database.ini's password: check pg_hba.conf allows it (md5 or scram-sha-256) and PostgreSQL listens there`,
          );
      }
      for (const name of ['puppetdb', 'puppetserver'] as const) {
        step = name;
        const up = await running(name);
        if (up && !restart[name]) continue;
        await replica.change(serviceCommand(rf.serviceManager, up ? 'restart' : 'start', name));
        changes.push(`${up ? 'restarted' : 'started'} ${name}`);
      }
      step = 'the health check';
      const urls = [puppetdbUrl(own), `https://${own}:8140`];
      if (!ctx.noop) {
        const health = parseKeyValues(
          (
            await replica.read(healthCommand(tls, urls, ctx.params.wait_seconds), {
              timeoutMs: (ctx.params.wait_seconds * 2 + 60) * 1000,
            })
          ).stdout,
        );
        const bad = urls.flatMap((u, i) => {
          const answer = health.get(`status.${i}`) ?? '';
          return answer === 'running' ? [] : [`${u}/status/v1/simple answered ${JSON.stringify(answer)}`];
        });
        if (bad.length > 0) throw fail(`${bad.join('; ')} after ${ctx.params.wait_seconds} s`);
      }
    } catch (error) {
      // Through the replica's cleanup commands: after a Ctrl-C they still run, so the services
      // are started again and their states read, not reported as unknown.
      const left: string[] = [];
      const state = (name: string) => readServiceStatus(replica.cleanup, rf.serviceManager, name);
      for (const name of SERVICES) {
        if (!ctx.noop && (await state(name).catch(() => 'unknown')) !== 'running')
          await replica.cleanup.change(serviceCommand(rf.serviceManager, 'start', name)).catch(() => undefined);
        left.push(`${name} ${await state(name).catch(() => 'unknown')}`);
      }
      throw fail(
        `${step} failed on ${replica.target.name}: ${(error as Error).message.replace(/\.+$/, '')}. Left: ${left.join(', ')}; changed before the failure: ${changes.join(', ') || 'nothing'}.`,
        { step, left, changes },
      );
    }

    // Code: drift by digest; code=rsync copies environments/ through the transfer channel.
    const digests = async () =>
      codeDrift(
        parseEnvironmentDigests((await ctx.read(environmentsDigestCommand(pf.paths.codedir))).stdout),
        parseEnvironmentDigests((await replica.read(environmentsDigestCommand(rf.paths.codedir))).stdout),
      );
    let drift = await digests();
    if (ctx.params.code === 'rsync' && drift.length > 0) {
      const settings = await transferSettings(ctx.params, replica);
      if (!(await hasTransferKey(ctx, settings)))
        throw fail(
          `no transfer key on ${ctx.target.name}: run setup_transfer first (the servers are configured; only the code was not copied)`,
        );
      await ctx.change(rsyncToReceiver(settings, `${pf.paths.codedir}/environments`, 'environments'));
      await replica.change(
        installEnvironmentsCommand(`${transferPaths(settings).incoming}/environments`, rf.paths.codedir),
      );
      changes.push(`environments (${drift.map((d) => d.environment).join(', ')})`);
      if (!ctx.noop) drift = await digests();
    }
    return {
      changed: changes.length > 0,
      value: { replica: own, puppetdb: puppetdbUrl(own), changes, code_drift: drift },
    };
  },
});
