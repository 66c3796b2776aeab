/**
 * The shape of an inventory file (Bolt inventory v2), as one zod schema. It validates the file
 * before anything is built from it, and `z.toJSONSchema` turns it into docs/inventory.schema.json
 * for editor completion. Expectation messages live on the schemas ("expected a port number from
 * 1 to 65535"); inventory-problems.ts adds what was found and where.
 * @see docs/inventory.md
 */
import { z } from 'zod';
import { checkInventoryNames } from './check-inventory-names.js';
import { ROLES, rolesInWords } from './target.js';
import { BOLT_ONLY_TRANSPORTS } from './target-uri.js';
import type { DataPath } from './yaml-source.js';

/** Bolt's rule for group names and aliases. */
export const NAME_PATTERN = /^[a-z0-9_][a-z0-9_-]*$/;

/** Config keys whose values are secrets: they become Sensitive and are never printed. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'sudo-password', 'key-data']);

/** Bolt ssh options pef accepts so Bolt inventories load unchanged, but does not use. */
export const BOLT_IGNORED_SSH_KEYS: readonly string[] = [
  'batch-mode',
  'cleanup',
  'copy-command',
  'disconnect-timeout',
  'encryption-algorithms',
  'extensions',
  'host-key-algorithms',
  'interpreters',
  'kex-algorithms',
  'load-config',
  'login-shell',
  'mac-algorithms',
  'native-ssh',
  'proxyjump',
  'run-as-command',
  'script-dir',
  'ssh-command',
  'sudo-executable',
  'tmpdir',
  'tty',
];

/** Bolt transports whose `config.<name>` blocks pef accepts and ignores. */
export const BOLT_IGNORED_TRANSPORTS: readonly string[] = ['local', ...BOLT_ONLY_TRANSPORTS];

/** True for `{_plugin: …}` mappings, whatever the plugin. */
export function isPluginRef(value: unknown): value is Record<string, unknown> & { _plugin: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && '_plugin' in value;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

/**
 * The per-parse zod error map: turns zod's default messages into plain expectations. Messages
 * set on a schema (`{ error: … }`) take precedence over this.
 */
export function expectationFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'too_small':
      return issue.origin === 'string' ? 'expected a non-empty string' : `expected at least ${String(issue.minimum)}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}

// Plugins ---------------------------------------------------------------------------------

const EnvVarPluginSchema = z
  .strictObject({
    _plugin: z.literal('env_var'),
    var: z
      .string({ error: 'expected the name of an environment variable' })
      .min(1, { error: 'expected the name of an environment variable' })
      .describe('Name of the environment variable to read'),
    default: z.unknown().optional().describe('Value used when the variable is not set'),
    optional: z
      .boolean({ error: 'expected true or false' })
      .optional()
      .describe('When true, an unset variable leaves the key unset instead of failing'),
    json: z.boolean({ error: 'expected true or false' }).optional().describe('Parse the variable as JSON'),
  })
  .meta({
    id: 'EnvVarPlugin',
    description: 'Reads an environment variable when a target that uses the value is resolved',
  });

const PromptPluginSchema = z
  .strictObject({
    _plugin: z.literal('prompt'),
    message: z
      .string({ error: 'expected the question to ask' })
      .min(1, { error: 'expected the question to ask' })
      .describe('The question to ask; asked once per run'),
  })
  .meta({
    id: 'PromptPlugin',
    description: 'Asks the operator on the terminal (once per run per message); refused without a TTY',
  });

/** A `{_plugin: env_var | prompt, …}` reference. */
export const PluginRefSchema = z
  .discriminatedUnion('_plugin', [EnvVarPluginSchema, PromptPluginSchema], {
    error: (iss) =>
      iss.code === 'invalid_union' ? 'expected env_var or prompt (the plugins pef supports)' : undefined,
  })
  .meta({ id: 'PluginReference' });

/** A `{_plugin: …}` reference as the schema checks it. */
export type PluginRef = z.output<typeof PluginRefSchema>;

/** `leaf`, or a plugin reference that yields it when the target is resolved. */
function orPlugin<T extends z.ZodType>(leaf: T, expectation: string) {
  return z.union([leaf, PluginRefSchema], { error: expectation });
}

// Plugins nested anywhere inside vars and facts are checked by walking the value: the JSON Schema
// cannot say "any value, but mappings with _plugin must be plugin references".
function checkNestedPlugins(
  value: unknown,
  ctx: z.core.$RefinementCtx,
  skipTopKeys: ReadonlySet<string> = new Set(),
): void {
  const walk = (v: unknown, path: PropertyKey[]): void => {
    if (isPluginRef(v)) {
      const result = PluginRefSchema.safeParse(v, { error: expectationFor });
      for (const { input: _input, ...issue } of result.error?.issues ?? [])
        ctx.addIssue({ ...issue, path: [...path, ...issue.path] });
      return;
    }
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...path, i]));
    else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v))
        if (!(path.length === 0 && skipTopKeys.has(k))) walk(item, [...path, k]);
    }
  };
  walk(value, []);
}

const always = { when: () => true };

// Leaves ----------------------------------------------------------------------------------

const PORT = 'expected a port number from 1 to 65535';
const portSchema = z.int({ error: PORT }).min(1, { error: PORT }).max(65535, { error: PORT });
const TIMEOUT = 'expected a number of seconds greater than 0';
const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
const secretString = z.string({ error: 'expected a string' });
const PRIVATE_KEY = 'expected a path to a private key file, or {key-data: <the key>}';

const TRANSPORT = 'expected ssh or local (the transports pef speaks)';

/**
 * `config.transport`: ssh or local; Bolt's other transports load (with a warning) so mixed Bolt
 * inventories work, and fail only for a target that is resolved.
 */
export const TransportSchema = z.union(
  [
    z.enum(['ssh', 'local'], { error: TRANSPORT }),
    z.enum(BOLT_ONLY_TRANSPORTS as [string, ...string[]]).describe('Bolt transports pef does not speak'),
  ],
  { error: TRANSPORT },
);

/** `vars.role`. */
export const RoleSchema = z.enum(ROLES, { error: `expected ${rolesInWords()}` });

const ignoredBoltOption = z
  .unknown()
  .optional()
  .describe('Bolt option, accepted for compatibility and ignored by pef (a warning says so)');

const keyDataSchema = nonEmpty('the private key');
const privateKeySchema = z.union(
  [
    nonEmpty('a path to a private key file'),
    z.strictObject({
      'key-data': orPlugin(keyDataSchema, 'expected the private key').describe('The private key itself (a secret)'),
    }),
  ],
  {
    error: PRIVATE_KEY,
  },
);

// The ssh keys pef uses: the value schema, its expectation, and its description.
const SSH_LEAVES: Record<string, readonly [z.ZodType, string, string]> = {
  host: [
    nonEmpty('a host name or address'),
    'expected a host name or address',
    'Address to connect to; the uri host, else this, else the target name',
  ],
  user: [nonEmpty('a user name'), 'expected a user name', 'Login user (default: the user running pef)'],
  port: [portSchema, PORT, 'SSH port (default 22)'],
  'private-key': [
    privateKeySchema,
    PRIVATE_KEY,
    'Path to a private key (~ expanded, relative to the inventory file), or {key-data: <key>}',
  ],
  password: [secretString, 'expected a string', 'Login password (a secret; prefer an env_var plugin)'],
  'host-key-check': [
    z.boolean({ error: 'expected true or false' }),
    'expected true or false',
    'Verify the host key against known-hosts (default true)',
  ],
  'known-hosts': [
    nonEmpty('a path to a known_hosts file'),
    'expected a path to a known_hosts file',
    'known_hosts file (pef extension; default ~/.ssh/known_hosts)',
  ],
  'connect-timeout': [
    z.number({ error: TIMEOUT }).positive({ error: TIMEOUT }),
    TIMEOUT,
    'Seconds to wait for connection and authentication (default 10)',
  ],
  'run-as': [nonEmpty('a user name'), 'expected a user name', 'Run commands as this user through sudo'],
  'sudo-password': [secretString, 'expected a string', 'Password for sudo (a secret; prefer an env_var plugin)'],
};

/** `config.ssh`: the keys pef uses, plus Bolt's that it accepts and ignores. */
export const SshConfigSchema = z
  .strictObject({
    ...Object.fromEntries(
      Object.entries(SSH_LEAVES).map(([key, [schema, expectation, description]]) => [
        key,
        orPlugin(schema, expectation).optional().describe(description),
      ]),
    ),
    ...Object.fromEntries(BOLT_IGNORED_SSH_KEYS.map((k) => [k, ignoredBoltOption])),
  })
  .meta({ id: 'SshConfig', description: 'SSH settings (Bolt config.ssh)' });

/**
 * The schema a value produced by a plugin must meet, by its path inside a target's data
 * (`config.ssh.port`, `vars.role`); undefined where any value goes.
 */
export function resolvedValueSchema(path: DataPath): z.ZodType | undefined {
  const key = path.join('.');
  if (key === 'config.transport') return TransportSchema;
  if (key === 'vars.role') return RoleSchema;
  if (key === 'config.ssh.private-key.key-data') return keyDataSchema;
  if (path.length === 3 && path[0] === 'config' && path[1] === 'ssh') {
    const leaf = SSH_LEAVES[String(path[2])];
    return leaf?.[0];
  }
  return undefined;
}

const ignoredTransportBlock = z
  .record(z.string(), z.unknown(), { error: 'expected a mapping' })
  .optional()
  .describe('Bolt transport settings, accepted for compatibility and ignored by pef');

/** `config`: the transport and its settings. */
export const ConfigSchema = z
  .strictObject({
    transport: orPlugin(TransportSchema, TRANSPORT)
      .optional()
      .describe('ssh (default) or local (a target named localhost defaults to local)'),
    ssh: SshConfigSchema.optional(),
    ...Object.fromEntries(BOLT_IGNORED_TRANSPORTS.map((k) => [k, ignoredTransportBlock])),
  })
  .meta({ id: 'Config', description: 'Connection settings; inner groups and targets override outer ones key by key' });

const VarsSchema = z
  .looseObject({
    role: orPlugin(RoleSchema, `expected ${rolesInWords()}`).optional().describe('The role pef gives this target'),
  })
  .superRefine((v, ctx) => checkNestedPlugins(v, ctx, new Set(['role'])), always)
  .meta({ id: 'Vars', description: 'Variables for tasks and plans; merged key by key (inner wins)' });

const FactsSchema = z
  .record(z.string(), z.unknown(), { error: 'expected a mapping' })
  .superRefine((v, ctx) => checkNestedPlugins(v, ctx), always)
  .meta({ id: 'Facts', description: 'Facts; merged deeply (inner wins)' });

const dataShape = {
  config: ConfigSchema.optional(),
  vars: VarsSchema.optional(),
  facts: FactsSchema.optional(),
  features: z
    .array(z.string({ error: 'expected a feature name' }), { error: 'expected a list of feature names' })
    .optional()
    .describe('Bolt features (e.g. puppet-agent)'),
  plugin_hooks: z
    .record(z.string(), z.unknown(), { error: 'expected a mapping' })
    .optional()
    .describe('Bolt plugin hooks; ignored by pef'),
};

const NAME_RULE = 'lowercase letters, digits, "_" and "-", not starting with "-"';
const groupName = nonEmpty('a group name').regex(NAME_PATTERN, { error: `expected a group name of ${NAME_RULE}` });
const aliasName = nonEmpty('an alias').regex(NAME_PATTERN, { error: `expected an alias of ${NAME_RULE}` });
const TARGET_NAME = 'expected a target name without spaces or commas (they separate names on the command line)';

/** A target uri: `[ssh://][user@]host[:port]`. */
export const TargetUriSchema = nonEmpty('a uri like [ssh://][user@]host[:port]').describe(
  '[ssh://|local://][user@]host[:port]',
);

/** A target given as a mapping. */
export const TargetObjectSchema = z
  .strictObject({
    name: nonEmpty('a target name')
      .regex(/^[^\s,]+$/, { error: TARGET_NAME })
      .optional()
      .describe('Name used on the command line and in results (default: the uri)'),
    uri: TargetUriSchema.optional(),
    alias: z
      .union([aliasName, z.array(aliasName)], { error: 'expected an alias or a list of aliases' })
      .optional()
      .describe('Other names for the target'),
    ...dataShape,
  })
  .superRefine((t, ctx) => {
    if (t.name === undefined && t.uri === undefined)
      ctx.addIssue({ code: 'custom', message: 'a target mapping needs a name or a uri' });
  }, always)
  .meta({ id: 'Target', description: 'A target with its own config, vars and facts' });

/** One entry of a `targets` list: a uri (or the name or alias of a target defined elsewhere), or a mapping. */
export const TargetEntrySchema = z.union([TargetUriSchema, TargetObjectSchema], {
  error: 'expected a target: a uri string like [ssh://][user@]host[:port], or a mapping with name and/or uri',
});

const TARGET_LIST = 'expected a list of targets';
const GROUP_LIST = 'expected a list of groups (each a mapping with a name)';
// An empty `targets:` or `groups:` is an empty list, as in Bolt (Array(nil)).
const targetList = () => z.array(TargetEntrySchema, { error: TARGET_LIST }).nullable().optional();

/** A group: a name, data shared by its targets, its targets and its subgroups. */
export const GroupSchema = z.strictObject({
  name: groupName.describe('Group name, unique across groups, targets and aliases'),
  targets: targetList(),
  get groups(): z.ZodOptional<z.ZodNullable<z.ZodArray<typeof GroupSchema>>> {
    return z.array(GroupSchema, { error: GROUP_LIST }).nullable().optional();
  },
  // Spelled out: spreading dataShape next to the recursive getter defeats TypeScript's inference.
  config: dataShape.config,
  vars: dataShape.vars,
  facts: dataShape.facts,
  features: dataShape.features,
  plugin_hooks: dataShape.plugin_hooks,
});
// Registered rather than chained with .meta(), which would return a copy the recursion never sees.
z.globalRegistry.add(GroupSchema, {
  id: 'Group',
  description: 'A named group of targets; its config, vars and facts apply to all of them',
});

/** The whole file: the implicit `all` group plus an optional version. */
export const InventoryFileSchema = z
  .strictObject({
    version: z
      .literal(2, {
        error:
          'expected version 2 (pef reads Bolt inventory v2; v1 files with `nodes` must be migrated, e.g. with `bolt project migrate`)',
      })
      .optional(),
    targets: targetList(),
    groups: z.array(GroupSchema, { error: GROUP_LIST }).nullable().optional(),
    ...dataShape,
  })
  .meta({ title: 'pef inventory', description: 'A pef inventory (Bolt inventory v2). See docs/inventory.md' });

/** The file schema plus the rules that span the whole file (unique names, target uris). */
export const InventorySchema = InventoryFileSchema.superRefine((root, ctx) => {
  for (const issue of checkInventoryNames(root)) {
    ctx.addIssue({
      code: 'custom',
      message: issue.message,
      path: issue.path,
      params: issue.firstAt === undefined ? {} : { firstAt: issue.firstAt },
    });
  }
}, always);

/** A validated inventory file. */
export type InventoryFile = z.output<typeof InventoryFileSchema>;
/** A validated group. */
export type GroupData = z.output<typeof GroupSchema>;
/** A validated target mapping. */
export type TargetObjectData = z.output<typeof TargetObjectSchema>;
