/**
 * The lab's shell and Puppet assets (src/lab/assets/*), found next to this module under ts-jest
 * and, from the compiled dist/src/lab/, back in the source tree (tsc copies only .ts).
 */
import { readFile, access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Files in src/lab/assets/. */
export type LabAsset = 'pef-lab-service.sh' | 'holder.sh' | 'host-setup.sh' | 'site.pp';

/** Absolute path of an asset. */
export async function labAssetPath(name: LabAsset): Promise<string> {
  const candidates = [
    new URL(`./assets/${name}`, import.meta.url),
    new URL(`../../../src/lab/assets/${name}`, import.meta.url),
  ].map((url) => fileURLToPath(url));
  for (const path of candidates) {
    try {
      await access(path);
      return path;
    } catch {
      // try the next layout
    }
  }
  throw new Error(`pef lab asset ${name} not found (looked in ${candidates.join(', ')}); reinstall pef`);
}

/** Text of an asset. */
export async function readLabAsset(name: LabAsset): Promise<string> {
  return readFile(await labAssetPath(name), 'utf8');
}
