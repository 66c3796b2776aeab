/**
 * Whether a host answers on TCP ports, asked from wherever the command runs (the controller or
 * another server): what failover asks from two places before it calls a primary down. One
 * connect per port with a deadline, through bash's /dev/tcp (no nc or curl needed), so the only
 * thing measured is whether the peer's kernel accepts or refuses.
 *
 * - `open`: something accepted the connection.
 * - `refused`: the host is up but nothing listens there (its kernel said so).
 * - `no-answer`: nothing came back before the deadline, or there is no route or no such name.
 * - `unknown`: the probe itself could not run (no bash or timeout here); never read as down.
 */
import { PefError } from '../errors/pef-error.js';

/** What one port said. */
export type PortState = 'open' | 'refused' | 'no-answer' | 'unknown';

/** One port's answer and the probe's own words for it. */
export interface PortAnswer {
  state: PortState;
  detail: string;
}

/** Host names and IPv4/IPv6 addresses; nothing a shell could read as more than one word. */
const HOST = /^[A-Za-z0-9][A-Za-z0-9.:-]*$/;

/** The default seconds one connect may take. */
export const PORT_PROBE_TIMEOUT_S = 3;

/** Prints `port.<n>=<exit status> <message>` for each port; read it with parsePortProbe. Read-only. */
export function portProbeCommand(host: string, ports: readonly number[], timeoutS = PORT_PROBE_TIMEOUT_S): string {
  if (!HOST.test(host))
    throw new PefError('pef/validation-error', `Not a host name or address: ${JSON.stringify(host)}`);
  for (const port of ports)
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new PefError('pef/validation-error', `Not a TCP port: ${String(port)}`);
  const seconds = Math.max(1, Math.round(timeoutS));
  return ports
    .map(
      (port) =>
        `m=$(timeout ${seconds} bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ ${host} ${port} 2>&1); rc=$?; echo "port.${port}=$rc $(printf '%s\\n' "$m" | head -n 1 | cut -c1-200)"`,
    )
    .join('\n');
}

/** Reads portProbeCommand's output; a port it printed nothing for is `unknown`. */
export function parsePortProbe(stdout: string, ports: readonly number[]): Record<number, PortAnswer> {
  const answers: Record<number, PortAnswer> = {};
  for (const port of ports) {
    const line = stdout.split('\n').find((l) => l.startsWith(`port.${port}=`));
    const match = line === undefined ? null : /^port\.\d+=(\d+) ?(.*)$/.exec(line);
    answers[port] = match
      ? classify(Number(match[1]), (match[2] ?? '').trim())
      : { state: 'unknown', detail: 'not probed' };
  }
  return answers;
}

function classify(status: number, message: string): PortAnswer {
  if (status === 0) return { state: 'open', detail: 'connected' };
  // 124: timeout's deadline; 126/127: timeout or bash missing, so nothing was measured.
  if (status === 124) return { state: 'no-answer', detail: 'no answer before the deadline' };
  if (status === 126 || status === 127)
    return { state: 'unknown', detail: message || `the probe could not run (${status})` };
  // bash says `_: connect: Connection refused` or `_: line 1: <name>: Name or service not known`.
  const detail = message.split(': ').pop() || `exit ${status}`;
  if (/refused/i.test(message)) return { state: 'refused', detail };
  if (/no route|unreachable|not known|resolution|timed out|name or service/i.test(message))
    return { state: 'no-answer', detail };
  return { state: 'unknown', detail };
}
