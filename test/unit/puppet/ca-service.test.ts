import { describe, expect, it } from '@jest/globals';
import {
  CA_DISABLED_SERVICE_LINE,
  CA_SERVICE_LINE,
  caCfgCandidates,
  caServiceState,
  setCaService,
} from '../../../src/puppet/ca-service.js';

// Debian 12's puppetserver 7.9 services.d/ca.cfg, as shipped.
const SHIPPED = `# To enable the CA service, leave the following line uncommented
puppetlabs.services.ca.certificate-authority-service/certificate-authority-service
# To disable the CA service, comment out the above line and uncomment the line below
#puppetlabs.services.ca.certificate-authority-disabled-service/certificate-authority-disabled-service
puppetlabs.trapperkeeper.services.watcher.filesystem-watch-service/filesystem-watch-service
`;

describe('ca.cfg', () => {
  it('reads the shipped file as enabled', () => {
    expect(caServiceState(SHIPPED)).toBe('enabled');
  });

  it('disables and enables again, keeping comments and the other services', () => {
    const off = setCaService(SHIPPED, false);
    expect(caServiceState(off)).toBe('disabled');
    expect(off).toContain(`#${CA_SERVICE_LINE}\n`);
    expect(off).toContain(`\n${CA_DISABLED_SERVICE_LINE}\n`);
    expect(off).toContain('filesystem-watch-service/filesystem-watch-service');
    expect(setCaService(off, false)).toBe(off);
    const on = setCaService(off, true);
    expect(on).toBe(SHIPPED);
    expect(setCaService(SHIPPED, true)).toBe(SHIPPED);
  });

  it('repairs a broken file (both lines active, or neither present)', () => {
    const both = `${CA_SERVICE_LINE}\n${CA_DISABLED_SERVICE_LINE}\n`;
    expect(caServiceState(both)).toBe('broken');
    expect(caServiceState(setCaService(both, false))).toBe('disabled');
    expect(caServiceState('')).toBe('broken');
    expect(setCaService('other/service', true)).toBe(`other/service\n${CA_SERVICE_LINE}\n`);
    expect(caServiceState(setCaService('  #  ' + CA_DISABLED_SERVICE_LINE + '\n', false))).toBe('disabled');
  });

  it('looks in the Debian and the AIO places', () => {
    expect(caCfgCandidates('/etc/puppet')).toEqual([
      '/etc/puppet/puppetserver/services.d/ca.cfg',
      '/etc/puppetserver/services.d/ca.cfg',
    ]);
    expect(caCfgCandidates('/etc/puppetlabs/puppet')).toEqual([
      '/etc/puppetlabs/puppet/puppetserver/services.d/ca.cfg',
      '/etc/puppetlabs/puppetserver/services.d/ca.cfg',
    ]);
  });
});
