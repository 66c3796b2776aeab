import { describe, expect, it } from '@jest/globals';
import {
  parseServiceManager,
  readServiceStatus,
  serviceCommand,
  serviceStatus,
  startOrder,
  stopOrder,
} from '../../../src/host/services.js';
import { PefError } from '../../../src/errors/pef-error.js';

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
    // `systemctl status`, not `is-active`: only status answers 4 for an unknown unit.
    expect(serviceCommand('systemd', 'status', 'puppetserver')).toBe(
      'systemctl status --no-pager --lines=0 puppetserver >/dev/null 2>&1',
    );
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

describe('serviceStatus', () => {
  it("reads LSB's status codes, as systemctl and the lab shim answer them", () => {
    expect([0, 1, 2, 3, 4].map(serviceStatus)).toEqual(['running', 'stopped', 'stopped', 'stopped', 'unknown']);
    expect(serviceStatus(5)).toBeNull();
    expect(serviceStatus(null)).toBeNull();
  });

  it('asks with the status command and lets any other exit code fail the read', async () => {
    const asked: { command: string; ok: readonly number[] | undefined }[] = [];
    const host = (exitCode: number) => ({
      read: (command: string, options?: { okExitCodes?: readonly number[] }) => {
        asked.push({ command, ok: options?.okExitCodes });
        if (!options?.okExitCodes?.includes(exitCode))
          return Promise.reject(new PefError('pef/command-failed', `exit ${exitCode}`));
        return Promise.resolve({ exitCode });
      },
    });
    expect(await readServiceStatus(host(4), 'lab', 'pe-puppetserver')).toBe('unknown');
    expect(asked[0]).toEqual({ command: 'pef-lab-service status pe-puppetserver', ok: [0, 1, 2, 3, 4] });
    expect(await readServiceStatus(host(3), 'systemd', 'puppetdb')).toBe('stopped');
    await expect(readServiceStatus(host(5), 'lab', 'puppetdb')).rejects.toThrow('exit 5');
  });
});
