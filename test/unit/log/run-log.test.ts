import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLogFile, RunLog } from '../../../src/log/run-log.js';
import { Sensitive } from '../../../src/util/sensitive.js';

const dir = mkdtempSync(join(tmpdir(), 'pef-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RunLog', () => {
  it('creates its directory, writes one event per line with the target, and scrubs secrets', () => {
    const secret = new Sensitive('sudo-pass-9876');
    const log = new RunLog(join(dir, 'nested', 'run.log'));
    log.write('debug', `ran \`echo ${secret.unwrap()} | sudo -S true\` exit=0`, 'primary.lab');
    log.write('error', 'two\nlines');
    const text = readFileSync(join(dir, 'nested', 'run.log'), 'utf8');
    expect(text).not.toContain('sudo-pass-9876');
    expect(text).toMatch(/DEBUG \[primary\.lab\] ran `echo \[sensitive\] \| sudo -S true` exit=0/);
    expect(text).toMatch(/ERROR \[-\] two\n {4}lines\n/);
    expect(statSync(join(dir, 'nested', 'run.log')).mode & 0o777).toBe(0o600);
  });

  it('names default files by time and pid', () => {
    expect(defaultLogFile('.pef/logs', new Date('2026-01-02T03:04:05.678Z'))).toBe(
      `.pef/logs/pef-2026-01-02T03-04-05-678Z-${process.pid}.log`,
    );
  });
});
