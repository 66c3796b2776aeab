import { describe, expect, it } from '@jest/globals';
import { parsePuppetConf } from '../../../src/puppet/puppet-conf.js';

describe('parsePuppetConf (configure_agents)', () => {
  it('reads settings per section from the probe output', () => {
    expect(
      parsePuppetConf(
        'config=/etc/puppet/puppet.conf\nset main server = primary.lab\nset agent server_list = a:8140, b:8140\n',
      ),
    ).toEqual({
      config: '/etc/puppet/puppet.conf',
      settings: [
        { section: 'main', key: 'server', value: 'primary.lab' },
        { section: 'agent', key: 'server_list', value: 'a:8140, b:8140' },
      ],
    });
  });
});
