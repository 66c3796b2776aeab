/**
 * CPU time from /proc, for costs that wall time hides on a loaded machine. A process's
 * cutime/cstime count the CPU of every child it has reaped (and of their reaped children), so
 * this process's own fields measure the processes it spawned, and an sshd listener's fields
 * measure its finished connections. Resolution: one clock tick (usually 10 ms).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let tickMs: number | undefined;

/** Milliseconds per clock tick (`getconf CLK_TCK`, 100 on Linux). */
export function clockTickMs(): number {
  if (tickMs === undefined) {
    let hz = 100;
    try {
      hz = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }), 10) || 100;
    } catch {
      // Keep Linux's default.
    }
    tickMs = 1000 / hz;
  }
  return tickMs;
}

/** CPU (user + system, ms) of the reaped children of `pid` ('self' for this process). */
export function reapedChildrenCpuMs(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name start at field 3; cutime and cstime are 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * clockTickMs();
}

/** This process's own CPU (user + system, ms), all threads. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
