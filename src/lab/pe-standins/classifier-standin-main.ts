/**
 * Entry point of the classifier stand-in on a lab host:
 *   node dist/src/lab/pe-standins/classifier-standin-main.js --host 127.0.10.1 --port 4433 \
 *     --cert C --key K --ca CA --data /var/lib/pef-lab/classifier.json \
 *     [--allowlist-file F] [--allow CERTNAME]... [--primary CERTNAME]
 * Prints `listening on https://…` once ready; exits 0 on SIGTERM or SIGINT, 1 on bad options.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { toErrorData } from '../../errors/pef-error.js';
import { startClassifierStandin } from './classifier-standin.js';
import type { ClassifierStandinOptions } from './classifier-standin.js';

/** Parses argv (without node and the script) into stand-in options. */
export function parseClassifierStandinArgs(argv: readonly string[]): ClassifierStandinOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string', default: '4433' },
      cert: { type: 'string' },
      key: { type: 'string' },
      ca: { type: 'string' },
      data: { type: 'string', default: '/var/lib/pef-lab/classifier.json' },
      'allowlist-file': { type: 'string' },
      allow: { type: 'string', multiple: true },
      primary: { type: 'string' },
    },
  });
  const missing = (['host', 'cert', 'key', 'ca'] as const).filter((name) => values[name] === undefined);
  if (missing.length > 0) throw new Error(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${values.port} is not a port number`);
  return {
    host: values.host!,
    port,
    certFile: values.cert!,
    keyFile: values.key!,
    caFile: values.ca!,
    dataFile: values.data,
    allowlist: values.allow ?? [],
    ...(values['allowlist-file'] === undefined ? {} : { allowlistFile: values['allowlist-file'] }),
    primaryCertname: values.primary ?? hostname(),
  };
}

async function main(): Promise<void> {
  let options: ClassifierStandinOptions;
  try {
    options = parseClassifierStandinArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(
      `classifier stand-in: ${(e as Error).message}\nusage: classifier-standin-main --host 127.x.y.z [--port 4433] --cert PEM --key PEM --ca PEM [--data FILE] [--allowlist-file FILE] [--allow CERTNAME]... [--primary CERTNAME]\n`,
    );
    process.exit(1);
  }
  try {
    const standin = await startClassifierStandin(options);
    const stop = (): void => {
      standin.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.stdout.write(`classifier stand-in (pef lab, not PE) listening on ${standin.url}\n`);
  } catch (e) {
    const data = toErrorData(e);
    process.stderr.write(`${data.msg}\n`);
    process.exit(1);
  }
}

// Run only as the entry script, so tests can import parseClassifierStandinArgs.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
