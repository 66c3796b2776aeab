/**
 * Runs the `pef failover` wizard (src/cli/wizard.ts) on a real terminal against two servers
 * answered in memory (fake-status-host.ts), for the pseudo-terminal tests (tmux) in
 * test/integration/cli/wizard-tty.test.ts. Only the transport is replaced: the status plan, the
 * situation, the prompts (inquirer), the renderer and the exit codes are pef's own.
 *
 *   node --import ./test/helpers/lab-ts-loader.mjs test/helpers/wizard-driver.ts <down|up> <record-file> [flags...]
 *
 * Every command a host was sent is appended to <record-file> (one JSON line each), with whether it
 * is a read-only status probe, so a test can prove nothing else reached a host.
 */
import { appendFileSync } from 'node:fs';
import { PefError } from '../../src/errors/pef-error.js';
import { TerminalPrompter } from '../../src/interaction/prompter.js';
import type { Role, Target } from '../../src/inventory/target.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { Connection, Transport } from '../../src/transport/transport.js';
import { PLANS } from '../../plans/index.js';
import { runWizard } from '../../src/cli/wizard.js';
import { printText } from '../../src/cli/output.js';
import { fakeTarget } from './fake-runtime.js';
import { fakeStatusHost, jobText, statusHostsHandler, statusProbeAnswer } from './fake-status-host.js';

const [scenario, record, ...flags] = process.argv.slice(2);
if ((scenario !== 'down' && scenario !== 'up') || record === undefined) {
  process.stderr.write('usage: wizard-driver.ts <down|up> <record-file> [--mode M] [--yes] [--commands]\n');
  process.exit(1);
}
const now = Date.now() / 1000;
const ago = (s: number) => new Date((now - s) * 1000).toISOString();
const targets: Target[] = [fakeTarget('puppet-a', { role: 'primary' }), fakeTarget('puppet-b', { role: 'replica' })];
const hosts = {
  'puppet-a': fakeStatusHost('puppet-a', 'active', {
    now,
    answers: { 'puppet-a': true, 'puppet-b': true },
    caInventory: ['0x0001 a', '0x0002 b'],
    jobs: { 'send_ca.state': jobText({ job: 'send_ca', lastRun: ago(5), lastSuccess: ago(5) }) },
  }),
  'puppet-b': fakeStatusHost('puppet-b', 'passive', {
    now,
    answers: { 'puppet-a': scenario === 'up', 'puppet-b': true },
    caInventory: ['0x0001 a', '0x0002 b'],
    jobs: {
      'receive_ca.state': jobText({ job: 'receive_ca', role: 'receive', lastRun: ago(5), lastSuccess: ago(42) }),
    },
  }),
};
const handler = statusHostsHandler(hosts, scenario === 'down' ? ['puppet-a'] : []);

function connection(target: Target): Connection {
  return {
    target,
    run: async (command, options = {}) => {
      const host = hosts[target.name as keyof typeof hosts];
      const probe = host !== undefined && statusProbeAnswer(host, command) !== null;
      appendFileSync(record!, `${JSON.stringify({ target: target.name, probe, command: command.slice(0, 200) })}\n`);
      const out = await handler(target.name, command, options);
      return { stdout: '', stderr: '', exitCode: 0, durationMs: 1, ...out };
    },
    upload: () => Promise.reject(new PefError('pef/transfer-failed', 'the wizard driver transfers nothing')),
    download: () => Promise.reject(new PefError('pef/transfer-failed', 'the wizard driver transfers nothing')),
    close: () => Promise.resolve(),
  };
}
const transport = (name: 'ssh' | 'local'): Transport => ({
  name,
  connect: (target) => {
    // The pool connects before running anything: a down server fails here, as ssh would.
    if (scenario === 'down' && target.name === 'puppet-a')
      return Promise.reject(new PefError('pef/connect-failed', 'connect ECONNREFUSED 127.0.0.1:22'));
    return Promise.resolve(connection(target));
  },
});

const prompter = new TerminalPrompter();
const pef = createRuntime(
  {
    inventory: {
      resolve: (spec) => {
        const names = typeof spec === 'string' ? spec.split(',') : [...spec];
        return Promise.resolve(targets.filter((t) => names.includes(t.name) || names.includes('all')));
      },
      targetsWithRole: (role: Role) => targets.filter((t) => t.vars['role'] === role),
    },
    prompter,
    plans: PLANS,
  },
  { transportFor: (name) => transport(name) },
);
const mode = flags.includes('--mode') ? flags[flags.indexOf('--mode') + 1] : undefined;
try {
  const { code } = await runWizard(
    {
      pef,
      prompter,
      plan: (name) => Promise.resolve(PLANS.find((p) => p.name === name)!),
      say: printText,
      width: process.stdout.columns ?? 80,
    },
    {
      ...(mode === 'switchover' || mode === 'failover' ? { mode } : {}),
      yes: flags.includes('--yes'),
      commands: flags.includes('--commands'),
    },
  );
  process.exitCode = code;
} catch (error) {
  process.stderr.write(`Error: ${(error as Error).message}\n`);
  process.exitCode = error instanceof PefError ? error.exitCode : 1;
} finally {
  await pef.close();
}
