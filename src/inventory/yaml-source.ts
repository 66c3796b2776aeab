/**
 * A parsed YAML file that remembers where every value came from, so a problem found in the
 * data (a zod issue path such as `groups.0.config.ssh.port`) can be reported at its line and
 * column. YAML 1.1 as Bolt (Ruby's Psych) reads it: `yes`/`no` are booleans and `<<` merges.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';

/** A path into the data: mapping keys and list indexes. */
export type DataPath = readonly (string | number)[];

/** A 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A YAML syntax problem. */
export interface YamlSyntaxProblem extends SourcePosition {
  message: string;
}

/** One parsed YAML file; see the file comment. */
export class YamlSource {
  readonly #doc: Document.Parsed;
  readonly #lines: LineCounter;

  private constructor(doc: Document.Parsed, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  /** Parses `text`; syntax errors come back as problems, never thrown. */
  static parse(text: string): { source: YamlSource; errors: YamlSyntaxProblem[]; warnings: YamlSyntaxProblem[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      uniqueKeys: true,
      version: '1.1',
      merge: true,
      prettyErrors: false,
    });
    const source = new YamlSource(doc, lines);
    const convert = (e: { message: string; pos: [number, number] }): YamlSyntaxProblem => ({
      ...source.#at(e.pos[0]),
      message: yamlMessage(e.message),
    });
    return { source, errors: doc.errors.map(convert), warnings: doc.warnings.map(convert) };
  }

  /** True when the file holds no document at all (empty, or only comments). */
  get empty(): boolean {
    return this.#doc.contents === null;
  }

  /** The data as plain JavaScript values. */
  toJS(): unknown {
    return this.#doc.toJS({ maxAliasCount: 1000 });
  }

  /**
   * Where `path` is written: the value, or its key with `key: true`. A path that goes beyond
   * what the file spells out (a missing key, a value merged in with `<<`) lands on the deepest
   * node that exists.
   */
  position(path: DataPath, options: { key?: boolean } = {}): SourcePosition {
    let node: unknown = this.#doc.contents;
    let keyNode: unknown;
    let matched = 0;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.#doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        keyNode = undefined;
        node = node.items[segment];
      } else break;
      matched++;
    }
    const complete = matched === path.length;
    // An empty value (`port:`) has no text of its own; its key is what the reader looks for.
    const emptyValue =
      isScalar(node) &&
      node.value === null &&
      node.range !== undefined &&
      node.range !== null &&
      node.range[0] === node.range[1];
    const target = (complete && options.key) || emptyValue ? (keyNode ?? node) : node;
    const offset = rangeStart(target);
    return offset === undefined ? { line: 1, column: 1 } : this.#at(offset);
  }

  #at(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range?.[0];
}

// The yaml package appends " at line L, column C:" and a source excerpt; we print our own position.
function yamlMessage(message: string): string {
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
  if (/tabs? .*indentation/i.test(first)) return `${first}; indent with spaces`;
  return first;
}
