/**
 * `pef failover` (the wizard) on a real pseudo-terminal (tmux), with the two servers answered in
 * memory by test/helpers/wizard-driver.ts (only the transport is replaced): the primary down, so a
 * failover is offered. What is checked here is what an operator sees and types: Ctrl-C at the
 * confirmation stops with exit 130 and nothing but read-only probes reached a host; a wrong name
 * is asked again and three of them stop with exit 1, nothing run; NO_COLOR removes every colour; a
 * 60-column terminal shows the wizard's table and steps without a wrapped or garbled line.
 * What only a lab can show (the yes path: the plan's steps on real hosts, live progress with JVM
 * restarts) is in test/e2e and docs/runbook.md.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmuxPane, type TmuxPane } from '../../helpers/tmux.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CONFIRM = /will become the active server\. Type its/;
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
let pane: TmuxPane | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pef-wizard-'));
});
afterEach(() => {
  pane?.kill();
  pane = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function wizard(options: { columns?: number; env?: Record<string, string> } = {}): TmuxPane {
  const record = join(dir, 'commands.jsonl');
  pane = tmuxPane(
    `node --import ./test/helpers/lab-ts-loader.mjs test/helpers/wizard-driver.ts down '${record}'`,
    // CI would make pef refuse to prompt; FORCE_COLOR from jest's environment would override NO_COLOR.
    { columns: options.columns ?? 80, cwd: ROOT, env: options.env ?? {}, unset: ['CI', 'FORCE_COLOR', 'NO_COLOR'] },
  );
  return pane;
}

/** Every command the driver's hosts were sent. */
function sent(): { target: string; probe: boolean; command: string }[] {
  const file = join(dir, 'commands.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { target: string; probe: boolean; command: string });
}

// Past the "show the commands?" question (No), at the typed confirmation.
async function toConfirmation(p: TmuxPane): Promise<void> {
  await p.waitFor(/Show the exact commands/);
  p.keys('Enter');
  await p.waitFor(CONFIRM);
}

const describeTty = hasTmux ? describe : describe.skip;

describeTty('pef failover on a terminal', () => {
  it('Ctrl-C at the confirmation exits 130 and nothing but the read-only probe reached a host', async () => {
    const p = wizard();
    await toConfirmation(p);
    p.keys('C-c');
    expect(await p.exited()).toBe(130);
    expect(p.screen()).toMatch(/\(Ctrl-C\): nothing was changed/);
    const commands = sent();
    expect(commands.map((c) => c.target)).toContain('puppet-b');
    expect(commands.filter((c) => !c.probe)).toEqual([]);
  });

  it('asks again after a wrong name, and stops after three with exit 1, nothing run', async () => {
    const p = wizard();
    await toConfirmation(p);
    p.type('puppet-a');
    p.keys('Enter');
    await p.waitFor(/"puppet-a" is not puppet-b; nothing was changed/);
    expect(p.screen().match(new RegExp(CONFIRM.source, 'g'))).toHaveLength(2);
    p.type('puppet-c');
    p.keys('Enter');
    p.type('b');
    p.keys('Enter');
    expect(await p.exited()).toBe(1);
    expect(p.screen()).toMatch(/Not confirmed: 3 answers did not name puppet-b/);
    expect(sent().filter((c) => !c.probe)).toEqual([]);
  });

  it('NO_COLOR: not one colour on the screen (and colours without it)', async () => {
    // An SGR sequence setting a foreground colour (ESC is built, not written: no control characters in a regex literal).
    const colour = new RegExp(`${String.fromCharCode(27)}\\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25];[0-9;]+)m`);
    const plain = wizard({ env: { NO_COLOR: '1' } });
    await toConfirmation(plain);
    expect(plain.screen('escapes')).not.toMatch(colour);
    plain.kill();
    const coloured = wizard();
    await toConfirmation(coloured);
    expect(coloured.screen('escapes')).toMatch(colour);
  });

  it('60 columns: the table, the steps and the questions are whole lines, none wrapped', async () => {
    const p = wizard({ columns: 60 });
    await toConfirmation(p);
    const screen = p.screen();
    const lines = screen.split('\n');
    const from = lines.findIndex((l) => l.startsWith('SERVER'));
    expect(from).toBeGreaterThanOrEqual(0);
    const wizardPart = lines.slice(from);
    expect(wizardPart.every((l) => l.length <= 60)).toBe(true);
    expect(wizardPart).toContainEqual(expect.stringMatching(/^puppet-b +passive +0 +ok +answers$/));
    expect(wizardPart).toContainEqual(expect.stringMatching(/^ 6\. promote: /));
    // A line tmux had to wrap would be joined with the next one by -J: the same count means none was.
    const joined = p.screen('joined').split('\n');
    const joinedFrom = joined.findIndex((l) => l.startsWith('SERVER'));
    expect(joined.length - joinedFrom).toBe(wizardPart.length);
  });
});
