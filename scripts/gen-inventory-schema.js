#!/usr/bin/env node
// Writes docs/inventory.schema.json from the zod inventory schema (src/inventory/inventory-schema.ts).
// It reads the compiled schema, so build first:
//   npm run build && node scripts/gen-inventory-schema.js
// test/unit/inventory/inventory-json-schema.test.ts fails while the committed file is stale.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let mod;
try {
  mod = await import(join(root, 'dist', 'src', 'inventory', 'inventory-json-schema.js'));
} catch (error) {
  console.error(`cannot load the compiled schema (${error.message}); run \`npm run build\` first`);
  process.exit(1);
}
const file = join(root, mod.INVENTORY_SCHEMA_FILE);
writeFileSync(file, mod.inventoryJsonSchemaText());
console.log(`wrote ${file}`);
