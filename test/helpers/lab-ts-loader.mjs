// Lets a plain `node` child process run pef's TypeScript sources (for tests that must kill a
// real `pef lab up` process, and for driving the lab before dist/ is built):
//   node --import ./test/helpers/lab-ts-loader.mjs test/helpers/lab-cli.ts up --stop-after ssh
// Transpile only (no type check), the same `.js` → `.ts` mapping as jest's moduleNameMapper.
import { register } from 'node:module';
import { readFile, access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

if (!globalThis.__pefTsLoaderRegistered) {
  globalThis.__pefTsLoaderRegistered = true;
  register(import.meta.url);
}

export async function resolve(specifier, context, next) {
  if (
    (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) &&
    specifier.endsWith('.js') &&
    context.parentURL?.endsWith('.ts')
  ) {
    const url = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    try {
      await access(fileURLToPath(url));
      return { url: url.href, shortCircuit: true, format: 'module' };
    } catch {
      // a real .js file
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const ts = (await import('typescript')).default;
  const source = await readFile(fileURLToPath(url), 'utf8');
  const out = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      sourceMap: false,
    },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
