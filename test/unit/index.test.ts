/**
 * The library surface (src/index.ts): the exported names are pinned, so adding or removing one
 * is a deliberate change (update docs/runbook-scripts.md with it), and what they are is checked.
 */
import { describe, expect, it } from '@jest/globals';
import * as pef from '../../src/index.js';
import { PLANS } from '../../plans/index.js';
import { TASKS } from '../../tasks/index.js';

describe('pef (src/index.ts)', () => {
  it('exports exactly the documented runtime names', () => {
    expect(Object.keys(pef).sort()).toEqual([
      'NonInteractivePrompter',
      'PLANS',
      'PefError',
      'ResultSet',
      'TASKS',
      'VERSION',
      'createRuntime',
      'definePlan',
      'defineTask',
      'loadInventory',
    ]);
  });

  it('exports the bundled catalog, the error class and the authoring helpers themselves', () => {
    expect(pef.TASKS).toBe(TASKS);
    expect(pef.PLANS).toBe(PLANS);
    expect(pef.TASKS.map((t) => t.name)).toContain('check_connection');
    const error = new pef.PefError('pef/unknown-plan', 'no such plan');
    expect(error).toBeInstanceOf(Error);
    expect(error.exitCode).toBe(1);
    expect(typeof pef.createRuntime).toBe('function');
    expect(typeof pef.defineTask).toBe('function');
    expect(typeof pef.definePlan).toBe('function');
    expect(typeof pef.loadInventory).toBe('function');
  });
});
