/**
 * Looks a task or plan up by name in a list of definitions, with the error the CLI and the
 * library both give: `pef/unknown-task` / `pef/unknown-plan`, near names suggested, all listed.
 */
import { PefError } from '../errors/pef-error.js';

/** The definition called `name` in `definitions`, or `pef/unknown-task` / `pef/unknown-plan`. */
export function findDefinition<D extends { readonly name: string }>(
  kind: 'task' | 'plan',
  definitions: readonly D[],
  name: string,
): D {
  const found = definitions.find((d) => d.name === name);
  if (found) return found;
  const known = definitions.map((d) => d.name);
  const near = known.filter((k) => k.includes(name) || name.includes(k));
  throw new PefError(
    kind === 'task' ? 'pef/unknown-task' : 'pef/unknown-plan',
    `There is no ${kind} "${name}".${near.length ? ` Did you mean ${near.join(' or ')}?` : ''} Run \`pef ${kind} list\` to see them all.`,
    { [kind]: name, known },
  );
}
