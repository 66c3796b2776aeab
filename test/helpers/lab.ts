/**
 * The lab for jest suites: one lab per `npm test`, shared by every suite that calls `ensureLab()`
 * (in TEST_LAB_DIR, default /tmp/pef-test-lab), torn down at the end by the global teardown
 * (test/helpers/lab-global-teardown.mjs) when this test run was the one that started it.
 * A lab that was already up before the run is reused and left up.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { labUp } from '../../src/lab/lab-up.js';
import type { LabInfo, LabUpOptions } from '../../src/lab/lab-up.js';
import { labDown } from '../../src/lab/lab-down.js';
import { labStatus } from '../../src/lab/lab-status.js';

/** Where test runs keep their shared lab. */
export const TEST_LAB_DIR = process.env['PEF_TEST_LAB_DIR'] ?? '/tmp/pef-test-lab';

/** Its network (127.0.10 by default); another prefix lets two labs run side by side while developing. */
export const TEST_LAB_PREFIX = process.env['PEF_TEST_LAB_PREFIX'] ?? '127.0.10';

// Next to the state dir, not in it: `lab down` refuses to delete a dir with foreign files.
// It holds the pid of the process that started the lab and that process's parent: the jest
// run that owns the lab is the one whose main process is either (runInBand, or a worker's parent).
// Other jest runs on the same machine (other people's) must leave the lab alone.
const STARTED_MARKER = `${TEST_LAB_DIR}.started-by-tests`;

export type { LabInfo };

/** True when this machine can run a lab (root on Linux with the Debian packages installed). */
export function labSupported(): boolean {
  return (
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    ['/usr/bin/unshare', '/usr/bin/nsenter', '/usr/sbin/sshd', '/usr/share/puppetserver/puppetserver.jar', '/usr/share/puppetdb/puppetdb.jar'].every(
      (p) => existsSync(p),
    )
  );
}

/** The shared test lab, brought up (about 2.5 minutes) unless it is already up and healthy. */
export async function ensureLab(options: Pick<LabUpOptions, 'onProgress'> = {}): Promise<LabInfo> {
  const before = await labStatus({ dir: TEST_LAB_DIR });
  const info = await labUp({ dir: TEST_LAB_DIR, agents: 1, addressPrefix: TEST_LAB_PREFIX, ...options });
  if (!before.healthy && !info.reused) await writeFile(STARTED_MARKER, `${process.pid} ${process.ppid}\n`);
  return info;
}

/**
 * Tears the shared lab down if the calling jest run started it (or `force`);
 * PEF_TEST_KEEP_LAB=1 keeps it.
 */
export async function releaseTestLab(options: { force?: boolean } = {}): Promise<boolean> {
  if (options.force !== true) {
    if (process.env['PEF_TEST_KEEP_LAB'] === '1') return false;
    const owners = (await readFile(STARTED_MARKER, 'utf8').catch(() => '')).trim().split(/\s+/).map(Number);
    if (!owners.includes(process.pid)) return false;
  }
  await labDown({ dir: TEST_LAB_DIR });
  await rm(STARTED_MARKER, { force: true });
  return true;
}
