/**
 * The JSON Schema of an inventory file, generated from the zod schema, for editor completion
 * (yaml-language-server). docs/inventory.schema.json is this, committed; a unit test keeps the
 * two equal and `scripts/gen-inventory-schema.js` rewrites the file.
 */
import { z } from 'zod';
import { InventoryFileSchema } from './inventory-schema.js';

/** Where the committed schema lives, relative to the repository root. */
export const INVENTORY_SCHEMA_FILE = 'docs/inventory.schema.json';

/** The schema as the committed file's text (draft-07, which yaml-language-server reads best). */
export function inventoryJsonSchemaText(): string {
  const schema = z.toJSONSchema(InventoryFileSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
