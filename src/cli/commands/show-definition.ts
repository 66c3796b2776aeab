/**
 * `pef task show` and `pef plan show` print a definition the same way: name, description,
 * details and parameters, as JSON or as text, plus what only tasks or only plans have.
 */
import type { ParamsSchema } from '../../task/task.js';
import { printJson, printText, type Format } from '../output.js';

/** What both a task and a plan definition have. */
interface Definition {
  name: string;
  description: string;
  details?: string;
  params: ParamsSchema;
}

/** Prints `def`; `json` adds its own fields to the JSON, `text` its own sections to the text. Returns 0. */
export async function showDefinition(
  def: Definition,
  format: Format | undefined,
  json: Record<string, unknown>,
  text: (params: string) => string,
): Promise<number> {
  const [{ describeParams }, { formatParams }] = await Promise.all([
    import('../../task/params.js'),
    import('../format.js'),
  ]);
  const params = describeParams(def.params);
  if (format === 'json') {
    printJson({
      name: def.name,
      description: def.description,
      details: def.details ?? '',
      ...json,
      parameters: params,
    });
    return 0;
  }
  const details = def.details ? `\n\n${def.details.trim()}` : '';
  printText(`${def.name} — ${def.description}${details}\n\n${text(formatParams(params))}`);
  return 0;
}
