#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (`npm run build`). `pef --version` is answered
// here from the build's version constant, without loading the CLI or its argument parser.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VERSION } = await import('../dist/src/version.js');
  process.stdout.write(`${VERSION}\n`);
} else {
  await import('../dist/src/cli/main.js');
}
