/**
 * A status document (src/replication/status.ts) for the wizard's tests, without hosts: `a` the
 * active server, `b` its spare, the CA 42 s old and 3 certificates behind on b.
 */
import type { StatusDocument } from '../../src/replication/status.js';

const CHECKED = '2026-06-01T12:00:00.000Z';

/** A status document: a active, b passive; `a` readable and serving unless told. */
export function pairDoc(
  a: { read?: boolean; serves?: boolean; mode?: 'active' | 'fenced' | 'passive' } = {},
): StatusDocument {
  const read = a.read ?? true;
  const serves = a.serves ?? true;
  return {
    active: 'a',
    replica: 'b',
    healthy: read && serves,
    data: [
      { kind: 'ca', last_success: '2026-06-01T11:59:18Z', age_s: 42, error: null, lag: 3, jobs: [] },
      { kind: 'puppetdb', last_success: null, age_s: null, error: null, lag: 0, jobs: [] },
    ],
    problems: [],
    flavor: 'oss',
    modes: { a: read ? (a.mode ?? 'active') : null, b: 'passive' },
    kill_switch: { a: null, b: null },
    epoch: { a: read ? 2 : 'invalid', b: 2 },
    answers_8140: {
      a: { a: read ? serves : null, b: serves },
      b: { a: read ? true : null, b: true },
    },
    code_drift: false,
    ca: { serial_equal: true, lag: 3 },
    puppetdb: { broadcast: true, lag: 0 },
    jobs: [
      {
        host: 'b',
        job: 'receive_ca',
        kind: 'ca',
        role: 'receive',
        result: 'success',
        last_run: CHECKED,
        last_success: '2026-06-01T11:59:18.000Z',
        interval_s: 60,
      },
    ],
    checked_at: CHECKED,
  };
}
