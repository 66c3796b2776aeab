/**
 * The default transport factory the CLI hands to ConnectionPool. Both transports load their
 * heavy dependencies (node-ssh) only when they first connect.
 */
import type { TransportName } from '../inventory/target.js';
import { LocalTransport } from './local-transport.js';
import { SshTransport } from './ssh-transport.js';
import type { Transport } from './transport.js';

/** A transport with default options for `name`. */
export function transportFor(name: TransportName): Transport {
  return name === 'ssh' ? new SshTransport() : new LocalTransport();
}
