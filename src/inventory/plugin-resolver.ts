/**
 * Resolves `{_plugin: env_var | prompt}` references when a target that uses them is resolved
 * (Bolt resolves config/vars/facts plugins lazily too). A prompt is asked at most once per
 * message for the whole run. Values are checked against what their key expects, with the
 * leniency an environment variable needs: `port: {_plugin: env_var}` may read "2222".
 * `peek` is the same without side effects, for showing an inventory: it reads no secret and
 * asks nothing, and says what is missing as a warning instead.
 */
import { PefError } from '../errors/pef-error.js';
import type { Prompter } from '../interaction/prompter.js';
import { REDACTED_TEXT } from '../util/sensitive.js';
import { describeValue, isSecretPath } from './inventory-problems.js';
import { expectationFor, resolvedValueSchema, type PluginRef } from './inventory-schema.js';
import type { DataPath } from './yaml-source.js';

/** Where a reference sits, for questions and messages. */
export interface PluginSite {
  /** Path inside the target's merged data: `config.ssh.sudo-password`, `vars.db_user`. */
  path: DataPath;
  /** The target being resolved. */
  target: string;
  /** `file:line:col yaml.path`, where the reference is written. */
  location: string;
}

/** The outcome of one reference. */
export type PluginOutcome =
  { ok: true; value: unknown } | { ok: false; message: string } | { ok: false; refusal: PefError };

/** What `peek` makes of one reference: a value to show (or none) and what the operator should know. */
export interface PluginPeek {
  value: unknown;
  warning?: string;
}

/** Resolves plugin references; see the file comment. */
export class PluginResolver {
  readonly #env: NodeJS.ProcessEnv;
  readonly #prompter: Prompter;
  readonly #answers = new Map<string, Promise<string>>();

  constructor(env: NodeJS.ProcessEnv, prompter: Prompter) {
    this.#env = env;
    this.#prompter = prompter;
  }

  /** The value of `ref` at `site`, checked against what the key expects. */
  async resolve(ref: PluginRef, site: PluginSite): Promise<PluginOutcome> {
    const secret = isSecretPath(site.path);
    let value: unknown;
    let source: string;
    if (ref._plugin === 'env_var') {
      source = `environment variable ${ref.var}`;
      const raw = this.#env[ref.var];
      if (raw === undefined) {
        if (ref.default !== undefined) value = ref.default;
        else if (ref.optional === true) return { ok: true, value: undefined };
        else
          return {
            ok: false,
            message: `environment variable ${ref.var} is not set; export it, or give the plugin a default or optional: true`,
          };
      } else if (ref.json === true) {
        try {
          value = JSON.parse(raw);
        } catch (error) {
          // JSON.parse quotes the input in its message; never echo a secret.
          const why = secret ? '' : `: ${(error as Error).message}`;
          return { ok: false, message: `environment variable ${ref.var} is not valid JSON (json: true)${why}` };
        }
      } else value = raw;
    } else {
      source = `the answer to "${ref.message}"`;
      try {
        value = await this.#ask(ref.message, secret, site);
      } catch (error) {
        if (error instanceof PefError && error.kind === 'pef/non-interactive') return { ok: false, refusal: error };
        throw error;
      }
    }
    return check(value, site.path, source, secret);
  }

  /**
   * What `ref` would give, for display: a secret is never read (it shows as `[sensitive]`) and
   * no question is asked; a value that is missing now is a warning, not an error.
   */
  async peek(ref: PluginRef, site: PluginSite): Promise<PluginPeek> {
    const secret = isSecretPath(site.path);
    if (ref._plugin === 'prompt') {
      return {
        value: secret ? REDACTED_TEXT : undefined,
        warning: `pef asks "${ref.message}" when it first connects`,
      };
    }
    const set = this.#env[ref.var] !== undefined;
    if (secret) {
      if (set || ref.default !== undefined) return { value: REDACTED_TEXT };
      if (ref.optional === true) return { value: undefined };
      return {
        value: undefined,
        warning: `environment variable ${ref.var} is not set; pef needs it when it first connects`,
      };
    }
    const outcome = await this.resolve(ref, site);
    if (outcome.ok) return { value: outcome.value };
    return { value: undefined, warning: 'refusal' in outcome ? outcome.refusal.message : outcome.message };
  }

  #ask(message: string, secret: boolean, site: PluginSite): Promise<string> {
    let answer = this.#answers.get(message);
    if (!answer) {
      const question = {
        message,
        instead: `{_plugin: env_var, var: ${suggestVariable(site.path)}} in place of the prompt at ${site.location} and set that environment variable`,
      };
      answer = secret ? this.#prompter.secret(question).then((s) => s.unwrap()) : this.#prompter.input(question);
      this.#answers.set(message, answer);
    }
    return answer;
  }
}

function check(value: unknown, path: DataPath, source: string, secret: boolean): PluginOutcome {
  const schema = resolvedValueSchema(path);
  if (!schema) return { ok: true, value };
  const coerced = coerce(value, path);
  const result = schema.safeParse(coerced, { error: expectationFor });
  if (result.success) return { ok: true, value: result.data };
  const expectation = result.error.issues[0]?.message ?? 'an invalid value';
  return { ok: false, message: `${source}: ${expectation}, found ${describeValue(value, secret)}` };
}

// Environment variables are strings; numbers and booleans are read from their usual spellings.
function coerce(value: unknown, path: DataPath): unknown {
  if (typeof value !== 'string') return value;
  const key = path[path.length - 1];
  if ((key === 'port' || key === 'connect-timeout') && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  if (key === 'host-key-check') {
    const v = value.trim().toLowerCase();
    if (v === 'true' || v === 'yes' || v === '1') return true;
    if (v === 'false' || v === 'no' || v === '0') return false;
  }
  return value;
}

function suggestVariable(path: DataPath): string {
  const key = String(path[path.length - 1] ?? 'value');
  return `PEF_${key.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}
