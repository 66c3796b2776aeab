/**
 * jest globalTeardown: tears the shared test lab down at the end of the run, if this run (any
 * project) started it; see test/helpers/lab.ts.
 */
import { releaseTestLab } from './lab.js';

/** Runs once at the end of every jest run; a no-op when no lab was started. */
export default async function labGlobalTeardown(): Promise<void> {
  await releaseTestLab();
}
