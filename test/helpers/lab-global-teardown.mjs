// jest globalTeardown: tears the shared test lab down at the end of the run if this run (any
// project) started it; see test/helpers/lab.ts. A no-op when no lab was started.
import './lab-ts-loader.mjs';

export default async function labGlobalTeardown() {
  const { releaseTestLab } = await import('./lab.ts');
  await releaseTestLab();
}
