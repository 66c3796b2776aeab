/**
 * The controller as a target, for the few checks a workflow must make from where pef runs (is the
 * primary's 8140 open from here?). Bolt's convention: `localhost` is the controller, reached by
 * the local transport. Built here rather than taken from the inventory, so a plan can ask the
 * controller's view even when the inventory lists no localhost; it is never a role's target.
 */
import type { Target } from '../inventory/target.js';

/** The name the controller's results carry. */
export const CONTROLLER_TARGET_NAME = 'localhost';

/** A local-transport target for the controller itself. */
export function controllerTarget(): Target {
  return {
    name: CONTROLLER_TARGET_NAME,
    aliases: [],
    groups: [],
    vars: {},
    facts: {},
    config: {
      transport: 'local',
      ssh: { host: CONTROLLER_TARGET_NAME, port: 22, user: 'root', hostKeyCheck: true, connectTimeout: 10 },
    },
  };
}
