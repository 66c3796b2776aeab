/**
 * Parameters for tasks and plans: parsing `key=value` and `--params` JSON from the command line,
 * validating against the task's zod schema, and describing the schema for `task show`.
 * Every error names the parameter, what was found and what is expected.
 */
import { z } from 'zod';
import { PefError } from '../errors/pef-error.js';
import { Sensitive } from '../util/sensitive.js';
import type { ParamsSchema } from './task.js';

/** A string parameter that is a secret: validated as a string, delivered as a Sensitive. */
export function sensitiveString(description: string) {
  return z
    .string()
    .min(1)
    .transform((value) => new Sensitive(value))
    .meta({ sensitive: true, description });
}

/** One parameter, as `task show` and `plan show` print it. */
export interface ParamDoc {
  name: string;
  type: string;
  description: string;
  required: boolean;
  default?: unknown;
  sensitive: boolean;
}

interface JsonSchemaProp {
  type?: string | string[];
  enum?: unknown[];
  description?: string;
  default?: unknown;
  sensitive?: boolean;
  items?: JsonSchemaProp;
  anyOf?: JsonSchemaProp[];
}

/** Describes a params schema for humans and JSON output. */
export function describeParams(schema: ParamsSchema): ParamDoc[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchemaProp>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, prop]) => {
    const doc: ParamDoc = {
      name,
      type: typeName(prop),
      description: prop.description ?? '',
      required: required.has(name) && prop.default === undefined,
      sensitive: prop.sensitive === true,
    };
    if (prop.default !== undefined) doc.default = prop.default;
    return doc;
  });
}

function typeName(prop: JsonSchemaProp): string {
  if (prop.enum) return prop.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (prop.anyOf) return prop.anyOf.map(typeName).join(' | ');
  if (prop.type === 'array') return `array of ${prop.items ? typeName(prop.items) : 'any'}`;
  if (Array.isArray(prop.type)) return prop.type.join(' | ');
  return prop.type ?? 'any';
}

/**
 * Merges parameters from `--params` (already parsed JSON) and `key=value` words. A value of a
 * non-string parameter is read as JSON (`count=3`, `dry=true`, `names=["a"]`).
 */
export function parseParamWords(
  schema: ParamsSchema,
  words: readonly string[],
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const docs = new Map(describeParams(schema).map((d) => [d.name, d]));
  const out: Record<string, unknown> = { ...base };
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) {
      throw new PefError('pef/param-error', `"${word}" is not a parameter; write parameters as key=value`, { word });
    }
    const key = word.slice(0, eq);
    const raw = word.slice(eq + 1);
    const doc = docs.get(key);
    out[key] = doc && doc.type !== 'string' && !doc.type.includes('"') ? parseJsonOrRaw(raw) : raw;
  }
  return out;
}

function parseJsonOrRaw(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Who owns a set of parameters, for error messages that name `pef task show NAME`. */
export interface ParamOwner {
  kind: 'task' | 'plan';
  name: string;
}

/** Validates raw params; throws `pef/param-error` listing every problem. */
export function validateParams<S extends ParamsSchema>(
  schema: S,
  raw: Record<string, unknown>,
  owner: ParamOwner,
): z.output<S> {
  const known = Object.keys(schema.shape);
  const problems: string[] = Object.keys(raw)
    .filter((k) => !known.includes(k))
    .map(
      (k) =>
        `unknown parameter "${k}"${known.length ? ` (known: ${known.join(', ')})` : ` (the ${owner.kind} takes no parameters)`}`,
    );
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`parameter "${issue.path.map(String).join('.') || '(all)'}": ${issue.message}`);
    }
  }
  if (!parsed.success || problems.length > 0) {
    throw new PefError(
      'pef/param-error',
      `Invalid parameters for ${owner.kind} ${owner.name}:\n  ${problems.join('\n  ')}\nSee \`pef ${owner.kind} show ${owner.name}\` for its parameters.`,
      { [owner.kind]: owner.name, problems },
    );
  }
  return parsed.data;
}
