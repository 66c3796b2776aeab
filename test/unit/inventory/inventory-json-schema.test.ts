/**
 * docs/inventory.schema.json is generated from the zod schema; this fails while the committed
 * file is stale. Fix: `npm run build && node scripts/gen-inventory-schema.js`.
 */
import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INVENTORY_SCHEMA_FILE, inventoryJsonSchemaText } from '../../../src/inventory/inventory-json-schema.js';

const committed = () => readFile(join(process.cwd(), INVENTORY_SCHEMA_FILE), 'utf8');

describe('docs/inventory.schema.json', () => {
  it('matches the zod schema (regenerate: npm run build && node scripts/gen-inventory-schema.js)', async () => {
    expect(await committed()).toBe(inventoryJsonSchemaText());
  });

  it('describes groups recursively and every ssh key for completion', async () => {
    const schema = JSON.parse(await committed()) as {
      $schema: string;
      definitions: Record<string, { properties: Record<string, unknown>; required?: string[] }>;
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.definitions['Group']?.required).toEqual(['name']);
    expect(schema.definitions['Group']?.properties['groups']).toEqual({
      anyOf: [{ type: 'array', items: { $ref: '#/definitions/Group' } }, { type: 'null' }],
    });
    expect(Object.keys(schema.definitions['SshConfig']?.properties ?? {})).toEqual(
      expect.arrayContaining([
        'host',
        'user',
        'port',
        'private-key',
        'password',
        'host-key-check',
        'known-hosts',
        'connect-timeout',
        'run-as',
        'sudo-password',
        'tty',
      ]),
    );
    expect(schema.definitions['Vars']?.properties['role']).toMatchObject({
      anyOf: [{ enum: ['primary', 'replica', 'agent', 'compiler'] }, { $ref: '#/definitions/PluginReference' }],
    });
  });
});
