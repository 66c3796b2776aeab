/**
 * Every task pef ships, in the order `pef task list` shows them.
 */
import type { TaskDefinition } from '../src/task/task.js';
import { agentCheck } from './agent-check.js';
import { checkConnection } from './check-connection.js';
import { configureAgents } from './configure-agents.js';
import { demote } from './demote.js';
import { discover } from './discover.js';
import { dumpDb } from './dump-db.js';
import { installAgent } from './install-agent.js';
import { padSerial } from './pad-serial.js';
import { promote } from './promote.js';
import { restoreDb } from './restore-db.js';
import { service } from './service.js';
import { setMode } from './set-mode.js';
import { setupTransfer } from './setup-transfer.js';
import { syncCa } from './sync-ca.js';

/** The bundled tasks. */
export const TASKS: readonly TaskDefinition[] = [checkConnection, discover, service, setupTransfer, padSerial, syncCa, dumpDb, restoreDb, setMode, promote, demote, agentCheck, configureAgents, installAgent];
