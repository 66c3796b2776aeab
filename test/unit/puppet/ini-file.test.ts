import { describe, expect, it } from '@jest/globals';
import { iniGet, iniSet } from '../../../src/puppet/ini-file.js';

// Debian's puppetdb 7.12 conf.d/jetty.ini after the lab's prep (comments trimmed).
const JETTY = `[jetty]
# IP address or hostname to listen for clear-text HTTP.
host = 127.0.10.2
port = 8080
access-log-config = /etc/puppetdb/request-logging.xml
`;

describe('ini files', () => {
  it('reads a key of a section, the last one when repeated, and nothing from other sections', () => {
    expect(iniGet(JETTY, 'jetty', 'port')).toBe('8080');
    expect(iniGet('[a]\nk = 1\nk=2\n[b]\nk = 3\n', 'a', 'k')).toBe('2');
    expect(iniGet(JETTY, 'database', 'port')).toBeUndefined();
  });

  it('replaces in place, appends missing keys to their section, keeps comments, and is stable', () => {
    const out = iniSet(JETTY, 'jetty', { port: '8080', 'ssl-port': '8081', host: null });
    expect(out).toBe(`[jetty]
# IP address or hostname to listen for clear-text HTTP.
port = 8080
access-log-config = /etc/puppetdb/request-logging.xml
ssl-port = 8081
`);
    expect(iniSet(out, 'jetty', { port: '8080', 'ssl-port': '8081', host: null })).toBe(out);
  });

  it('adds keys to a section that is not the last, and a missing section at the end', () => {
    expect(iniSet('[a]\nx = 1\n\n[b]\ny = 2\n', 'a', { z: '3' })).toBe('[a]\nx = 1\n\nz = 3\n[b]\ny = 2\n');
    expect(iniSet('[a]\nx = 1\n', 'main', { k: 'v' })).toBe('[a]\nx = 1\n\n[main]\nk = v\n');
    expect(iniSet('', 'main', { k: 'v' })).toBe('[main]\nk = v\n');
  });
});
