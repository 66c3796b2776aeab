/**
 * Helpers for the inventory tests: inventory text written to a temp dir that removes itself,
 * a scripted Prompter that records its questions, and a way to get the error a load throws.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import type { Prompter, QuestionBase } from '../../../src/interaction/prompter.js';
import { NonInteractivePrompter } from '../../../src/interaction/prompter.js';
import type { Inventory } from '../../../src/inventory/inventory.js';
import { loadInventory } from '../../../src/inventory/load-inventory.js';
import { Sensitive } from '../../../src/util/sensitive.js';

/** The repository's test/fixtures/inventory directory. */
export const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'inventory');

/** A temp directory for inventory files; call `cleanup()` in afterAll. */
export class TempDir {
  private constructor(readonly path: string) {}

  static async create(): Promise<TempDir> {
    return new TempDir(await mkdtemp(join(tmpdir(), 'pef-inventory-')));
  }

  /** Writes `text` to `name` inside the directory and returns its path. */
  async write(name: string, text: string): Promise<string> {
    const file = join(this.path, name);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    return file;
  }

  async cleanup(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}

/** A question the FakePrompter was asked. */
export interface Asked extends QuestionBase {
  kind: 'input' | 'secret' | 'confirm' | 'select';
}

/** Answers from a table keyed by message; records every question. */
export class FakePrompter implements Prompter {
  readonly interactive = true;
  readonly asked: Asked[] = [];

  constructor(private readonly answers: Record<string, string>) {}

  async input(q: QuestionBase): Promise<string> {
    return this.answer('input', q);
  }
  async secret(q: QuestionBase): Promise<Sensitive> {
    return new Sensitive(this.answer('secret', q));
  }
  async confirm(q: QuestionBase): Promise<boolean> {
    return this.answer('confirm', q) === 'yes';
  }
  async select<T extends string>(q: QuestionBase): Promise<T> {
    return this.answer('select', q) as T;
  }

  private answer(kind: Asked['kind'], q: QuestionBase): string {
    this.asked.push({ kind, message: q.message, instead: q.instead });
    const a = this.answers[q.message];
    if (a === undefined) throw new Error(`FakePrompter has no answer for "${q.message}"`);
    return a;
  }
}

/** Options for the load helpers. */
export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  prompter?: Prompter;
  name?: string;
}

/** Writes `text` into `dir` and loads it (env defaults to a fixed HOME and nothing else). */
export async function loadText(dir: TempDir, text: string, options: LoadOptions = {}): Promise<Inventory> {
  const file = await dir.write(options.name ?? 'inventory.yaml', text);
  return loadInventory(file, {
    env: options.env ?? { HOME: '/home/op' },
    prompter: options.prompter ?? new NonInteractivePrompter(),
  });
}

/** The PefError `promise` rejects with; fails the test if it resolves or throws something else. */
export async function rejection(promise: Promise<unknown>): Promise<PefError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PefError);
  return caught as PefError;
}

/** One problem of a `pef/inventory-error`. */
export interface ProblemDetail {
  line: number;
  column: number;
  path: string;
  message: string;
}

/** The problems an inventory error carries. */
export function problemsOf(error: PefError): ProblemDetail[] {
  expect(error.kind).toBe('pef/inventory-error');
  return (error.details as { errors: ProblemDetail[] }).errors;
}
