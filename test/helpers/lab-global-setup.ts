/**
 * jest globalSetup of the e2e project: brings the shared lab up once, before any e2e suite, so
 * no suite pays for JVM boots inside its own timeout and no two suites boot JVMs at once.
 */
import { ensureLab, labSupported } from './lab.js';

/** Runs once per jest run that selects an e2e test. */
export default async function labGlobalSetup(): Promise<void> {
  if (!labSupported()) return;
  const info = await ensureLab({ onProgress: (line) => process.stderr.write(`lab: ${line}\n`) });
  process.stderr.write(`lab: ${info.reused ? 'reusing' : 'started'} ${info.dir} (${(info.durationMs / 1000).toFixed(0)} s)\n`);
}
