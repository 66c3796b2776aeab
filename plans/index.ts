/**
 * Every plan pef ships, in the order `pef plan list` shows them.
 */
import type { PlanDefinition } from '../src/plan/plan.js';
import { failback } from './failback.js';
import { failover } from './failover.js';
import { preflight } from './preflight.js';
import { promote } from './promote.js';
import { setup } from './setup.js';
import { status } from './status.js';
import { switchover } from './switchover.js';
import { sync } from './sync.js';

/** The bundled plans. */
export const PLANS: readonly PlanDefinition[] = [
  preflight,
  setup,
  sync,
  status,
  switchover,
  failover,
  promote,
  failback,
];
