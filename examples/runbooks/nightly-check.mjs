#!/usr/bin/env node
// nightly-check.mjs: is the warm spare still a warm spare? For cron or a CI schedule.
//
//   node examples/runbooks/nightly-check.mjs --inventory inventory.yaml [--out status.json]
//
// Runs pef's read-only `status` plan, writes its JSON document (to --out, else stdout) and exits
// 0 when the pair is healthy. When it is not, one line on stderr names every problem (cron mails
// stderr; a CI log shows it) and the exit code is 2. When status cannot run at all (no inventory
// file, say), the line names that, nothing is written and the exit code is 2 as well.
import { writeFile } from 'node:fs/promises';
import { argv } from 'zx';
import { createRuntime, PefError } from 'pef';

const inventory = argv.inventory ?? argv.i ?? 'inventory.yaml';
// format 'json': pef draws no progress; this script prints only what is described above.
const pef = createRuntime({ inventory, format: 'json' });
try {
  const result = await pef.status();
  const doc = result.value;
  if (doc === undefined) {
    // The plan failed before it could judge anything (e.g. the inventory file is missing).
    console.error(`pef nightly check: status could not run: ${result.error?.msg}`);
    process.exitCode = 2;
  } else {
    const json = `${JSON.stringify(doc, null, 2)}\n`;
    if (argv.out) await writeFile(argv.out, json, { mode: 0o644 });
    else process.stdout.write(json);
    if (!doc.healthy) {
      console.error(`pef nightly check: NOT healthy (active: ${doc.active ?? 'unknown'}): ${doc.problems.join(' ')}`);
      process.exitCode = 2;
    }
  }
} catch (error) {
  // Bad input (inventory, parameters) is thrown, not returned.
  if (!(error instanceof PefError)) throw error;
  console.error(`pef nightly check: pef could not run: ${error.kind}: ${error.message}`);
  process.exitCode = error.exitCode;
} finally {
  await pef.close();
}
