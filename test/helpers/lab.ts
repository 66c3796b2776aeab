/**
 * The labs for jest suites: one `oss` lab per `npm test`, shared by every suite that calls
 * `ensureLab()` (in TEST_LAB_DIR, default /tmp/pef-test-lab), and one `pe` lab for the suites
 * that call `ensurePeLab()` (TEST_PE_LAB_DIR, default /tmp/pef-test-lab-pe, brought up by the
 * first of them), torn down at the end by the global teardown (test/helpers/lab-global-teardown.mjs)
 * when this test run was the one that started them. A lab that was already up before the run is
 * reused and left up.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { labUp } from '../../src/lab/lab-up.js';
import type { LabInfo, LabUpOptions } from '../../src/lab/lab-up.js';
import type { LabProfile } from '../../src/lab/lab-layout.js';
import { labDown } from '../../src/lab/lab-down.js';
import { labStatus } from '../../src/lab/lab-status.js';
import { labExec } from '../../src/lab/lab-exec.js';

/** Where test runs keep their shared lab. */
export const TEST_LAB_DIR = process.env['PEF_TEST_LAB_DIR'] ?? '/tmp/pef-test-lab';

/** Its network (127.0.10 by default); another prefix lets two labs run side by side while developing. */
export const TEST_LAB_PREFIX = process.env['PEF_TEST_LAB_PREFIX'] ?? '127.0.10';

/** The shared `pe` lab's state dir and network. */
export const TEST_PE_LAB_DIR = process.env['PEF_TEST_PE_LAB_DIR'] ?? '/tmp/pef-test-lab-pe';
export const TEST_PE_LAB_PREFIX = process.env['PEF_TEST_PE_LAB_PREFIX'] ?? '127.0.12';

/** How long a suite's beforeAll may wait for `ensurePeLab()` (a PE lab boots in about 3.5 minutes). */
export const PE_LAB_TIMEOUT_MS = 600_000;

export type { LabInfo };

interface TestLab {
  dir: string;
  addressPrefix: string;
  profile: LabProfile;
}

const TEST_LABS: readonly TestLab[] = [
  { dir: TEST_LAB_DIR, addressPrefix: TEST_LAB_PREFIX, profile: 'oss' },
  { dir: TEST_PE_LAB_DIR, addressPrefix: TEST_PE_LAB_PREFIX, profile: 'pe' },
];

// Next to the state dir, not in it: `lab down` refuses to delete a dir with foreign files.
// It holds the pid of the process that started the lab and that process's parent: the jest
// run that owns the lab is the one whose main process is either (runInBand, or a worker's parent).
// Other jest runs on the same machine (other people's) must leave the lab alone.
const startedMarker = (lab: TestLab): string => `${lab.dir}.started-by-tests`;

/** True when this machine can run a lab (root on Linux with the Debian packages installed). */
export function labSupported(): boolean {
  return (
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    [
      '/usr/bin/unshare',
      '/usr/bin/nsenter',
      '/usr/sbin/sshd',
      '/usr/share/puppetserver/puppetserver.jar',
      '/usr/share/puppetdb/puppetdb.jar',
    ].every((p) => existsSync(p))
  );
}

async function ensure(lab: TestLab, options: Pick<LabUpOptions, 'onProgress'>): Promise<LabInfo> {
  const before = await labStatus({ dir: lab.dir });
  const info = await labUp({
    dir: lab.dir,
    agents: 1,
    addressPrefix: lab.addressPrefix,
    profile: lab.profile,
    ...options,
  });
  if (!before.healthy && !info.reused) await writeFile(startedMarker(lab), `${process.pid} ${process.ppid}\n`);
  return info;
}

/** The shared test lab, brought up (about 2.5 minutes) unless it is already up and healthy. */
export async function ensureLab(options: Pick<LabUpOptions, 'onProgress'> = {}): Promise<LabInfo> {
  return ensure(TEST_LABS[0]!, options);
}

/** The shared `pe` test lab (about 3.5 minutes; call it in a beforeAll with PE_LAB_TIMEOUT_MS). */
export async function ensurePeLab(options: Pick<LabUpOptions, 'onProgress'> = {}): Promise<LabInfo> {
  return ensure(TEST_LABS[1]!, options);
}

/**
 * Tears the shared labs down if the calling jest run started them (or `force`, for the `oss`
 * lab); PEF_TEST_KEEP_LAB=1 keeps them. True when the `oss` lab was taken down.
 */
export async function releaseTestLab(options: { force?: boolean } = {}): Promise<boolean> {
  let released = false;
  for (const lab of TEST_LABS) {
    const forced = options.force === true && lab.profile === 'oss';
    if (!forced) {
      if (process.env['PEF_TEST_KEEP_LAB'] === '1') continue;
      const owners = (await readFile(startedMarker(lab), 'utf8').catch(() => '')).trim().split(/\s+/).map(Number);
      if (!owners.includes(process.pid)) continue;
    }
    await labDown({ dir: lab.dir });
    await rm(startedMarker(lab), { force: true });
    if (lab.profile === 'oss') released = true;
  }
  return released;
}

/** `sh -c COMMAND` on a host of the shared oss lab (10 minutes at most). */
export function labSh(host: string, command: string): ReturnType<typeof labExec> {
  return labExec(host, ['sh', '-c', command], { dir: TEST_LAB_DIR, timeoutMs: 600_000 });
}
