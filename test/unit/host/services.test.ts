import { describe, expect, it } from '@jest/globals';
import { parseServiceManager, serviceCommand, startOrder, stopOrder } from '../../../src/host/services.js';

describe('service order', () => {
  it('stops the agent first and the database last, whatever order it was given', () => {
    expect(stopOrder(['postgresql', 'puppetserver', 'puppet', 'puppetdb'])).toEqual([
      'puppet',
      'puppetserver',
      'puppetdb',
      'postgresql',
    ]);
    expect(
      stopOrder([
        'pe-puppetdb',
        'pe-console-services',
        'puppet',
        'pe-orchestration-services',
        'pe-nginx',
        'pe-puppetserver',
      ]),
    ).toEqual([
      'puppet',
      'pe-orchestration-services',
      'pe-nginx',
      'pe-console-services',
      'pe-puppetserver',
      'pe-puppetdb',
    ]);
  });

  it('starts in the reverse order', () => {
    expect(startOrder(['puppet', 'postgresql', 'puppetserver', 'puppetdb'])).toEqual([
      'postgresql',
      'puppetdb',
      'puppetserver',
      'puppet',
    ]);
  });
});

describe('serviceCommand', () => {
  it('speaks each manager', () => {
    expect(serviceCommand('systemd', 'status', 'puppetserver')).toBe('systemctl is-active --quiet puppetserver');
    expect(serviceCommand('systemd', 'stop', 'pe-puppetdb')).toBe('systemctl stop pe-puppetdb');
    expect(serviceCommand('lab', 'start', 'puppetdb')).toBe('pef-lab-service start puppetdb');
    expect(serviceCommand('puppet-resource', 'stop', 'puppet')).toBe(
      'puppet resource service puppet ensure=stopped >/dev/null',
    );
  });

  it('quotes service names', () => {
    expect(serviceCommand('systemd', 'stop', 'x; rm -rf /')).toBe("systemctl stop 'x; rm -rf /'");
  });

  it('reads the manager probe', () => {
    expect(parseServiceManager('systemd\n')).toBe('systemd');
    expect(parseServiceManager('lab')).toBe('lab');
    expect(parseServiceManager('')).toBe('puppet-resource');
  });
});
