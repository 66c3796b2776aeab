/** Target uris: `[scheme://][user@]host[:port]` as Bolt writes them. */
import { describe, expect, it } from '@jest/globals';
import { parseTargetUri } from '../../../src/inventory/target-uri.js';

describe('parseTargetUri', () => {
  it.each([
    ['host.example.com', { host: 'host.example.com' }],
    ['10.0.0.1', { host: '10.0.0.1' }],
    ['ssh://host', { scheme: 'ssh', host: 'host' }],
    ['SSH://Host', { scheme: 'ssh', host: 'Host' }],
    ['local://controller', { scheme: 'local', host: 'controller' }],
    ['winrm://win1', { scheme: 'winrm', host: 'win1' }],
    ['deploy@host', { user: 'deploy', host: 'host' }],
    ['ssh://deploy@host:2222', { scheme: 'ssh', user: 'deploy', host: 'host', port: 2222 }],
    ['host:22', { host: 'host', port: 22 }],
    ['[::1]', { host: '::1' }],
    ['[fe80::1]:2200', { host: 'fe80::1', port: 2200 }],
    ['first%2Elast@host', { user: 'first.last', host: 'host' }],
  ])('%s', (text, uri) => {
    expect(parseTargetUri(text)).toEqual({ ok: true, uri });
  });

  it.each([
    ['', 'the uri is empty'],
    ['a b', 'contains a space or comma'],
    ['a,b', 'contains a space or comma'],
    ['telnet://host', 'unknown scheme "telnet://"'],
    ['ssh://host/path', 'has a path'],
    ['user:pw@host', 'a password in the uri'],
    ['@host', 'empty user'],
    ['host:0', 'port "0"'],
    ['host:65536', 'port "65536"'],
    ['host:ssh', 'port "ssh"'],
    ['host:', 'port ""'],
    ['::1', 'more than one ":"'],
    ['[::1', 'never closes'],
    ['[nothex]', 'not an IPv6 address'],
    ['bad!host', 'not a valid host name'],
    ['-host', 'not a valid host name'],
    ['user@', 'has no host'],
  ])('%s is refused', (text, problem) => {
    const parsed = parseTargetUri(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(problem);
  });
});
