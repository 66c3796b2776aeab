/**
 * A real pseudo-terminal for CLI tests, through tmux (node-pty does not install here): a private
 * tmux server on a socket in a temp dir (never the user's), one pane of a chosen size running one
 * command, keys typed into it, and the screen read back as text (or with its escape sequences).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shQuote } from '../../src/util/shell-quote.js';

/** One pane running one command; kill() it in `finally`. */
export interface TmuxPane {
  /** Types text literally (no key names). */
  type(text: string): void;
  /** Sends tmux key names: Enter, C-c, Down… */
  keys(...names: string[]): void;
  /**
   * The pane's text with its history, trailing blank lines dropped; `escapes` keeps colours and
   * attributes, `joined` joins the lines tmux wrapped (one line per line the program wrote).
   */
  screen(as?: 'text' | 'escapes' | 'joined'): string;
  /** Waits until the screen matches; throws with the screen after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The command's exit status once it ended, else null. */
  exitCode(): number | null;
  /** Waits for the exit status. */
  exited(timeoutMs?: number): Promise<number>;
  kill(): void;
}

/** Starts `command` (a shell command line) in a `columns`×`rows` pane, with `env` added. */
export function tmuxPane(
  command: string,
  options: { columns: number; rows?: number; cwd?: string; env?: Record<string, string>; unset?: string[] },
): TmuxPane {
  const dir = mkdtempSync(join(tmpdir(), 'pef-tmux-'));
  const socket = join(dir, 'sock');
  const rc = join(dir, 'rc');
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${shQuote(v)}`);
  const unset = (options.unset ?? []).flatMap((name) => ['-u', name]);
  // The exit status goes to a file; the pane stays (remain-on-exit) so its last screen can be read.
  const line = `env ${unset.join(' ')} ${env.join(' ')} ${command}; echo $? > ${shQuote(rc)}`;
  tmux(
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    ...(options.cwd === undefined ? [] : ['-c', options.cwd]),
    '-s',
    't',
    '-x',
    String(options.columns),
    '-y',
    String(options.rows ?? 50),
    `sh -c ${shQuote(line)}`,
  );
  tmux('set-option', '-t', 't', 'remain-on-exit', 'on');
  const pane: TmuxPane = {
    type: (text) => void tmux('send-keys', '-t', 't', '-l', text),
    keys: (...names) => void tmux('send-keys', '-t', 't', ...names),
    screen: (as = 'text') =>
      tmux('capture-pane', '-p', '-t', 't', '-S', '-200', ...{ text: [], escapes: ['-e'], joined: ['-J'] }[as]).replace(
        /\n+$/,
        '',
      ),
    waitFor: async (pattern, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = pane.screen();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; screen:\n${text}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    exitCode: () => (existsSync(rc) ? Number(readFileSync(rc, 'utf8').trim()) : null),
    exited: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const code = pane.exitCode();
        if (code !== null) return code;
        if (Date.now() > deadline) throw new Error(`no exit within ${timeoutMs} ms; screen:\n${pane.screen()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    kill: () => {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pane;
}
