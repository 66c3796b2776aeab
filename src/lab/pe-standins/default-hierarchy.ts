/**
 * The hierarchy the classifier stand-in seeds on first start: a small subset of what a fresh PE
 * install creates, with the primary's certname in rules and class parameters, so that a hostname
 * transform (primary → replica, as ncio does) has something to rewrite.
 */
import type { NodeGroup } from './node-group-hierarchy.js';

/** PE's fixed id of the "All Nodes" root group. */
export const ALL_NODES_ID = '00000000-0000-4000-8000-000000000000';

// Fixed ids keep the seed deterministic; real PE generates random UUIDs for these groups.
const PE_INFRASTRUCTURE_ID = '00000000-0000-4000-8000-0000000000a1';

const group = (id: string, name: string, parent: string, rest: Partial<NodeGroup> = {}): NodeGroup => ({
  id,
  name,
  parent,
  environment: 'production',
  environment_trumps: false,
  rule: null,
  classes: {},
  variables: {},
  description: '',
  config_data: {},
  ...rest,
});

/** The seed hierarchy for a primary named `primary` (a certname). */
export function defaultHierarchy(primary: string): NodeGroup[] {
  const isPrimary = ['or', ['=', 'name', primary]];
  return [
    group(ALL_NODES_ID, 'All Nodes', ALL_NODES_ID, {
      rule: ['and', ['~', 'name', '.*']],
      description: 'The root of the hierarchy.',
    }),
    group(PE_INFRASTRUCTURE_ID, 'PE Infrastructure', ALL_NODES_ID, {
      description: 'Parameters shared by the PE infrastructure groups.',
      classes: {
        puppet_enterprise: {
          puppet_master_host: primary,
          certificate_authority_host: primary,
          console_host: primary,
          puppetdb_host: [primary],
          database_host: primary,
          pcp_broker_host: primary,
        },
      },
    }),
    group('00000000-0000-4000-8000-0000000000a2', 'PE Master', PE_INFRASTRUCTURE_ID, {
      rule: isPrimary,
      classes: { 'puppet_enterprise::profile::master': { puppetdb_host: [primary], file_sync_enabled: 'automatic' } },
    }),
    group('00000000-0000-4000-8000-0000000000a3', 'PE Certificate Authority', PE_INFRASTRUCTURE_ID, {
      rule: isPrimary,
      classes: { 'puppet_enterprise::profile::certificate_authority': {} },
    }),
    group('00000000-0000-4000-8000-0000000000a4', 'PE PuppetDB', PE_INFRASTRUCTURE_ID, {
      rule: isPrimary,
      classes: { 'puppet_enterprise::profile::puppetdb': {} },
    }),
    group('00000000-0000-4000-8000-0000000000a5', 'PE Infrastructure Agent', PE_INFRASTRUCTURE_ID, {
      rule: ['and', ['~', ['fact', 'pe_server_version'], '.+']],
      classes: {
        'puppet_enterprise::profile::agent': { server_list: [`${primary}:8140`], pcp_broker_list: [`${primary}:8142`] },
      },
    }),
  ];
}
