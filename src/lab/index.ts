/**
 * The lab: real multi-host Puppet on one machine (see docs/lab.md). Public API of src/lab.
 */
export { labUp } from './lab-up.js';
export type { LabUpOptions, LabInfo, LabStopAfter } from './lab-up.js';
export { labDown } from './lab-down.js';
export type { LabDownResult } from './lab-down.js';
export { labStatus, formatLabStatus } from './lab-status.js';
export type { LabStatus, LabHostStatus, LabServiceStatus } from './lab-status.js';
export { labExec, findLabHost } from './lab-exec.js';
export type { LabExecOptions } from './lab-exec.js';
export { labHosts, labPaths, DEFAULT_LAB_DIR, DEFAULT_ADDRESS_PREFIX, LAB_SERVICES } from './lab-layout.js';
export type { LabHost, LabPaths, LabProfile, LabRole, LabService } from './lab-layout.js';
export type { LabHostState, LabState } from './lab-state.js';
export type { RunOutput } from './lab-process.js';
