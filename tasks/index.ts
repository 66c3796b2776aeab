/**
 * Every task pef ships, in the order `pef task list` shows them.
 */
import type { TaskDefinition } from '../src/task/task.js';
import { agentCheck } from './agent-check.js';
import { checkConnection } from './check-connection.js';
import { checkPair } from './check-pair.js';
import { checkPorts } from './check-ports.js';
import { compareCa } from './compare-ca.js';
import { comparePuppetdbTask } from './compare-puppetdb.js';
import { configurePuppetdbBroadcast } from './configure-puppetdb-broadcast.js';
import { configureReplica } from './configure-replica.js';
import { configureAgents } from './configure-agents.js';
import { copySecrets } from './copy-secrets.js';
import { demote } from './demote.js';
import { discover } from './discover.js';
import { dumpDb } from './dump-db.js';
import { dumpNc } from './dump-nc.js';
import { forgetReplica } from './forget-replica.js';
import { infraStatus } from './infra-status.js';
import { installAgent } from './install-agent.js';
import { padSerial } from './pad-serial.js';
import { probeStatus } from './probe-status.js';
import { promote } from './promote.js';
import { promoteReplica } from './promote-replica.js';
import { provisionReplica } from './provision-replica.js';
import { runAgentsJob } from './run-agents-job.js';
import { installReplication } from './install-replication.js';
import { recordJob } from './record-job.js';
import { restoreDb } from './restore-db.js';
import { restoreNc } from './restore-nc.js';
import { service } from './service.js';
import { setMode } from './set-mode.js';
import { setupTransfer } from './setup-transfer.js';
import { syncCa } from './sync-ca.js';

/** The bundled tasks. */
export const TASKS: readonly TaskDefinition[] = [
  checkConnection,
  checkPorts,
  discover,
  checkPair,
  service,
  setupTransfer,
  padSerial,
  syncCa,
  configureReplica,
  configurePuppetdbBroadcast,
  comparePuppetdbTask,
  compareCa,
  dumpDb,
  restoreDb,
  dumpNc,
  restoreNc,
  setMode,
  promote,
  demote,
  agentCheck,
  configureAgents,
  installAgent,
  copySecrets,
  infraStatus,
  provisionReplica,
  promoteReplica,
  runAgentsJob,
  forgetReplica,
  recordJob,
  installReplication,
  probeStatus,
];
