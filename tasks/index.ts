/**
 * Every task pef ships, in the order `pef task list` shows them.
 */
import type { TaskDefinition } from '../src/task/task.js';
import { checkConnection } from './check-connection.js';
import { discover } from './discover.js';
import { dumpDb } from './dump-db.js';
import { padSerial } from './pad-serial.js';
import { restoreDb } from './restore-db.js';
import { service } from './service.js';
import { setupTransfer } from './setup-transfer.js';
import { syncCa } from './sync-ca.js';

/** The bundled tasks. */
export const TASKS: readonly TaskDefinition[] = [checkConnection, discover, service, setupTransfer, padSerial, syncCa, dumpDb, restoreDb];
