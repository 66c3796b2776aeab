/**
 * Who and where a command lands on a host: its hostname, the effective user (after any privilege
 * escalation), the kernel and the OS name, one per line. Read-only; check_connection uses it to
 * prove the login, the run-as user and the host are the ones intended.
 */

/** The read-only probe; its output is read by `parseConnectionProbe`. */
export const CONNECTION_PROBE =
  'hostname -f 2>/dev/null || hostname; id -un; uname -sr; . /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || echo unknown';

/** What the probe found. */
export interface ConnectionFacts {
  hostname: string;
  user: string;
  kernel: string;
  os: string;
}

/** Reads the probe's four lines (missing ones are empty). */
export function parseConnectionProbe(stdout: string): ConnectionFacts {
  const [hostname = '', user = '', kernel = '', os = ''] = stdout.trim().split('\n');
  return { hostname, user, kernel, os };
}
