import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { serverHost, serverListParam, splitServerList } from '../../../src/puppet/server-list.js';

describe('server_list parameter', () => {
  const schema = z.object({ server_list: serverListParam('servers') });

  it('takes an array or a comma string and trims entries', () => {
    expect(schema.parse({ server_list: 'primary.lab:8140, replica.lab' }).server_list).toEqual([
      'primary.lab:8140',
      'replica.lab',
    ]);
    expect(schema.parse({ server_list: ['a.lab', 'b.lab:8141'] }).server_list).toEqual(['a.lab', 'b.lab:8141']);
    expect(splitServerList(['a,b', ' c '])).toEqual(['a', 'b', 'c']);
    expect(serverHost('primary.lab:8140')).toBe('primary.lab');
  });

  it('refuses empty lists, junk and duplicates', () => {
    expect(schema.safeParse({ server_list: '' }).success).toBe(false);
    expect(schema.safeParse({ server_list: 'a.lab;rm -rf /' }).success).toBe(false);
    expect(schema.safeParse({ server_list: 'https://a.lab' }).success).toBe(false);
    expect(schema.safeParse({ server_list: 'a.lab,a.lab' }).success).toBe(false);
  });
});
