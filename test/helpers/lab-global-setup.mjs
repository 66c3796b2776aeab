// jest globalSetup of the e2e project: brings the shared lab up once, before any e2e suite, so no
// suite pays for JVM boots inside its own timeout and no two suites boot JVMs at once.
// Plain ESM (jest loads global setup outside its module system), reaching the TypeScript
// helpers through the lab's TS loader.
import './lab-ts-loader.mjs';

export default async function labGlobalSetup() {
  const { ensureLab, labSupported } = await import('./lab.ts');
  if (!labSupported()) return;
  const info = await ensureLab({ onProgress: (line) => process.stderr.write(`lab: ${line}\n`) });
  process.stderr.write(
    `lab: ${info.reused ? 'reusing' : 'started'} ${info.dir} (${(info.durationMs / 1000).toFixed(0)} s)\n`,
  );
}
