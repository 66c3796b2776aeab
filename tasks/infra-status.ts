/**
 * infra_status: PE's `puppet infrastructure status --format json`, read into a value plans and
 * scripts can use: the primary, the replicas (certnames only: PE's status does not say whether
 * one is enabled), every service entry, the ones not running, and what this host is. Read-only;
 * noop runs the same.
 */
import { z } from 'zod';
import {
  assertPeHost,
  parsePeHostProbe,
  peHostProbeCommand,
  readInfraStatus,
} from '../src/puppet/pe-infrastructure.js';
import { defineTask } from '../src/task/task.js';

/** Reads PE's infrastructure status; see the file comment. */
export const infraStatus = defineTask({
  name: 'infra_status',
  description: "PE: read `puppet infrastructure status` (primary, replicas, services) into the result's value",
  details: `Run on a PE primary or replica. Never changes anything (changed: false).
value: {this_host, role (primary | replica | other), primary, replicas [{certname}],
services [{service, display_name, server, state}], not_running [...]}.
PE's JSON does not say whether a replica is enabled or its topology, so neither is in the value.`,
  params: z.object({}),
  supportsNoop: true,
  async run(ctx) {
    const task = 'infra_status';
    const probe = parsePeHostProbe((await ctx.read(peHostProbeCommand({ certname: true }))).stdout);
    assertPeHost(probe, ctx.target.name, task, { certname: false });
    const status = await readInfraStatus(ctx, task);
    const self = probe.certname;
    const role =
      self !== null && status.primary === self
        ? 'primary'
        : status.replicas.some((r) => r.certname === self)
          ? 'replica'
          : 'other';
    return {
      changed: false,
      value: {
        this_host: self,
        role,
        pe_version: probe.peVersion,
        primary: status.primary,
        replicas: status.replicas,
        services: status.services,
        not_running: status.services
          .filter((s) => s.state !== 'running')
          .map((s) => `${s.service}@${s.server}: ${s.state}`),
      },
    };
  },
});
