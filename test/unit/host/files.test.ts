/**
 * The root-safe writer's command text: what the integration test runs for real, checked here for
 * the properties every caller relies on (see test/integration/host/write-file.test.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { appendLineCommand, makeDirCommand, writeFileCommand } from '../../../src/host/files.js';

describe('writeFileCommand', () => {
  const command = writeFileCommand('/etc/puppet/puppetserver/ca/serial', {
    mode: '644',
    owner: 'puppet',
    group: 'puppet',
  });

  it('stages in a fresh 0700 temp dir inside the target dir, chown -h before the rename, mv -T onto the target', () => {
    expect(command).toContain('d=/etc/puppet/puppetserver/ca; n=serial');
    expect(command).toContain('mktemp -d .pef-write.XXXXXX');
    const order = [
      'cd -P -- "$d"',
      '[ ! -L "$n" ]',
      'mktemp -d',
      'cat > f.pef-tmp',
      'chown -h puppet:puppet f.pef-tmp',
      'chmod 644 f.pef-tmp',
      'mv -fT f.pef-tmp "../$n"',
    ];
    const at = order.map((s) => command.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // No chown that could follow a link, no write through the target's own name.
    expect(command).not.toMatch(/chown (?!-h)/);
    expect(command).not.toMatch(/> *"?\$n|> *"?\.\.\//);
  });

  it('is one subshell, so a caller can chain it (`mkdir -p … && write`) without its cd leaking', () => {
    expect(command.startsWith('(\n')).toBe(true);
    expect(command.endsWith('\n)')).toBe(true);
  });

  it('refuses paths that are not absolute and normalized, and bad owners or modes', () => {
    for (const bad of ['relative/file', '/etc/../etc/shadow', '/etc/./x', '/etc//x', '/etc/dir/', '/etc/a\nb']) {
      expect(() => writeFileCommand(bad, { mode: '644' })).toThrow(/absolute, normalized/);
    }
    expect(() => writeFileCommand('/etc/x', { mode: '644', owner: 'a b' })).toThrow(/owner/);
    expect(() => writeFileCommand('/etc/x', { mode: 'u+s' })).toThrow(/mode/);
  });

  it('reads the content from stdin, base64 stdin, or the target itself without following a link', () => {
    expect(writeFileCommand('/a/b', { mode: '600' }, { content: 'base64' })).toContain('base64 -d > f.pef-tmp');
    expect(writeFileCommand('/a/b', { mode: '600' }, { content: 'existing' })).toContain(
      'dd if="../$n" of=f.pef-tmp iflag=nofollow',
    );
    expect(writeFileCommand('/a/b', 'keep')).toContain('chown -h "$a" f.pef-tmp && chmod "$m" f.pef-tmp');
  });
});

describe('appendLineCommand and makeDirCommand', () => {
  it('append with O_APPEND and O_NOFOLLOW, and refuse a line break', () => {
    expect(appendLineCommand('/ca/inventory.txt', '0x0002 x')).toContain(
      'dd of="$n" oflag=append,nofollow conv=notrunc',
    );
    expect(() => appendLineCommand('/ca/inventory.txt', 'a\nb')).toThrow(/line break/);
  });

  it('create a directory with mkdir -m and chown -h', () => {
    const c = makeDirCommand('/etc/x/secrets', { mode: '750', owner: 'pe-orchestration-services' });
    expect(c).toContain('mkdir -m 750 -- "$n"');
    expect(c).toContain('chown -h pe-orchestration-services -- "$n"');
  });
});
