/**
 * The lab's shell and Puppet assets (src/lab/assets/*) and the PE stand-ins it installs on hosts,
 * found from the package root whether this module runs from src/ (ts-jest) or dist/src/ (tsc
 * copies only .ts, so shell assets stay in src/ and the stand-ins' JavaScript is in dist/).
 */
import { readFile, readdir, access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

/** Files in src/lab/assets/. */
export type LabAsset = 'pef-lab-service.sh' | 'holder.sh' | 'host-setup.sh' | 'site.pp';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The package root (where package.json is): two levels above src/lab/, three above dist/src/lab/. */
async function packageRoot(): Promise<string> {
  const candidates = ['../../', '../../../'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  for (const root of candidates) {
    if ((await exists(join(root, 'package.json'))) && (await exists(join(root, 'src/lab/assets')))) return root;
  }
  throw new Error(`pef lab assets not found (looked for src/lab/assets under ${candidates.join(', ')}); reinstall pef`);
}

/** Absolute path of an asset. */
export async function labAssetPath(name: LabAsset): Promise<string> {
  return join(await packageRoot(), 'src/lab/assets', name);
}

/** Text of an asset. */
export async function readLabAsset(name: LabAsset): Promise<string> {
  return readFile(await labAssetPath(name), 'utf8');
}

/** A file to install on a lab host. */
export interface HostFile {
  path: string;
  content: string;
  mode: number;
}

/** Where a PE server of the lab keeps the classifier stand-in's JavaScript (see pef-lab-service). */
export const STANDINS_DIR = '/opt/puppetlabs/server/apps/pef-lab-standins';

/** What a PE server of the lab gets: files, and directories of the machine copied whole. */
export interface PeStandinInstall {
  files: HostFile[];
  /** `from` on the machine, copied into `into` on the host. */
  dirs: { from: string; into: string }[];
}

/**
 * The PE stand-ins for a PE server of the lab: the `puppet` wrapper as /opt/puppetlabs/bin/puppet,
 * and the classifier's compiled modules (with the error module and the zod package they import)
 * under STANDINS_DIR. Needs `npm run build` (the lab runs the stand-in with plain node).
 */
export async function peStandins(): Promise<PeStandinInstall> {
  const root = await packageRoot();
  const files: HostFile[] = [
    {
      path: '/opt/puppetlabs/bin/puppet',
      content: await readFile(join(root, 'src/lab/pe-standins/puppet-pe-standin.sh'), 'utf8'),
      mode: 0o755,
    },
    {
      path: `${STANDINS_DIR}/package.json`,
      content: '{ "type": "module", "description": "pef lab stand-ins, not Puppet Enterprise" }\n',
      mode: 0o644,
    },
  ];
  for (const dir of ['src/lab/pe-standins', 'src/errors']) {
    const built = join(root, 'dist', dir);
    const names = await readdir(built).catch(() => {
      throw new Error(`the lab's PE stand-ins are not built (${built} is missing); run \`npm run build\` first`);
    });
    for (const name of names.filter((n) => n.endsWith('.js'))) {
      files.push({
        path: `${STANDINS_DIR}/${dir}/${name}`,
        content: await readFile(join(built, name), 'utf8'),
        mode: 0o644,
      });
    }
  }
  const zod = dirname(createRequire(import.meta.url).resolve('zod/package.json'));
  return { files, dirs: [{ from: zod, into: `${STANDINS_DIR}/node_modules` }] };
}
