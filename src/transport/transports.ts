/**
 * The default transport factory the CLI hands to ConnectionPool. Both transports load their
 * heavy dependencies (node-ssh) only when they first connect.
 */
import type { TransportName } from '../inventory/target.js';
import { LocalTransport } from './local-transport.js';
import { SshTransport } from './ssh-transport.js';
import type { Transport } from './transport.js';

/** What every transport takes from the project config. */
export interface TransportSettings {
  /** The limit of a command that names none (config `commandTimeoutMs`; default 10 minutes, 0: none). */
  commandTimeoutMs?: number;
}

/** A transport for `name`, with default options plus `settings`. */
export function transportFor(name: TransportName, settings: TransportSettings = {}): Transport {
  return name === 'ssh' ? new SshTransport(settings) : new LocalTransport(settings);
}
