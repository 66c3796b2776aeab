import { describe, expect, it } from '@jest/globals';
import {
  broadcastPuppetdbConf,
  ownFirstPuppetdbConf,
  puppetdbUrl,
  serverUrls,
  splitUrls,
} from '../../../src/puppet/puppetdb-conf.js';
import { iniGet } from '../../../src/puppet/ini-file.js';

// The lab primary's puppetdb.conf (src/lab/assets/host-setup.sh).
const PRIMARY = '[main]\nserver_urls = https://primary.lab:8081\nsoft_write_failure = false\n';
const P = puppetdbUrl('primary.lab');
const R = puppetdbUrl('replica.lab');

describe('puppetdb.conf', () => {
  it('broadcasts to both, own first, one success enough, no sticky reads, and keeps the other settings', () => {
    const out = broadcastPuppetdbConf(PRIMARY, P, R);
    expect(out).toBe(
      '[main]\nserver_urls = https://primary.lab:8081,https://replica.lab:8081\nsoft_write_failure = false\ncommand_broadcast = true\nmin_successful_submissions = 1\nsticky_read_failover = false\n',
    );
    expect(broadcastPuppetdbConf(out, P, R)).toBe(out);
    // The terminus's own line pattern reads a value with no blanks after the commas.
    expect(iniGet(out, 'main', 'server_urls')).not.toMatch(/\s/);
  });

  it('takes the peer out of submit_only_server_urls (the terminus refuses a URL in both lists) and keeps other submit-only URLs', () => {
    const out = broadcastPuppetdbConf(`${PRIMARY}submit_only_server_urls = ${R},https://hdp.example:9091\n`, P, R);
    expect(iniGet(out, 'main', 'submit_only_server_urls')).toBe('https://hdp.example:9091');
    const only = broadcastPuppetdbConf(`${PRIMARY}submit_only_server_urls = ${R}/\n`, P, R);
    expect(only).not.toContain('submit_only_server_urls');
  });

  it('points a replica at its own PuppetDB first and leaves a broadcast list alone', () => {
    expect(ownFirstPuppetdbConf('', R)).toBe(`[main]\nserver_urls = ${R}\n`);
    expect(ownFirstPuppetdbConf(PRIMARY, R)).toBe(`[main]\nserver_urls = ${R}\nsoft_write_failure = false\n`);
    const broadcast = broadcastPuppetdbConf('', R, P);
    expect(ownFirstPuppetdbConf(broadcast, R)).toBe(broadcast);
    expect(serverUrls(ownFirstPuppetdbConf(broadcastPuppetdbConf('', P, R), R))).toEqual([R, P]);
  });

  it('reads URL lists with blanks and trailing slashes, and the default', () => {
    expect(splitUrls(' https://a:8081/ , https://b:8081')).toEqual(['https://a:8081', 'https://b:8081']);
    expect(serverUrls('')).toEqual(['https://puppetdb:8081']);
  });
});
