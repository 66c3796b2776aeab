/**
 * The two servers a pair task works on (the task's own host and its `receiver=` peer),
 * discovered, with the certnames each one reports checked before they become URLs or paths, and
 * two servers that claim the same certname refused (a `receiver=` naming the primary itself).
 */
import { PefError } from '../errors/pef-error.js';
import { checkCertname } from '../puppet/names.js';
import { discoverHost, type HostFacts } from './discover.js';

/** A host pef can read from (a task's ctx or its peer). */
export interface ReadableHost {
  readonly target: { readonly name: string };
  read(command: string): Promise<{ stdout: string }>;
}

/** One side of a pair: its facts and its checked certname. */
export interface PairSide {
  facts: HostFacts;
  certname: string;
}

/** Options of `discoverPair`. */
export interface DiscoverPairOptions {
  /** The task, named in errors. */
  task: string;
  /** Set for oss-only tasks: why a PE server is refused (e.g. what to use instead). */
  ossOnly?: string;
}

/** Discovers `primary` and `replica`; throws (nothing changed) on PE when oss-only, or on one certname for both. */
export async function discoverPair(
  primary: ReadableHost,
  replica: ReadableHost,
  options: DiscoverPairOptions,
): Promise<{ primary: PairSide; replica: PairSide }> {
  const side = async (host: ReadableHost): Promise<PairSide> => {
    const facts = await discoverHost((c) => host.read(c));
    if (options.ossOnly !== undefined && facts.flavor !== 'oss')
      throw new PefError(
        'pef/task-failed',
        `${options.task}: ${host.target.name} runs Puppet Enterprise; ${options.ossOnly} Nothing was changed.`,
        { host: host.target.name },
      );
    return { facts, certname: checkCertname(facts.certname, { server: host.target.name, field: 'certname' }) };
  };
  // Two hosts, two connections: discovered side by side.
  const [primarySide, replicaSide] = await Promise.all([side(primary), side(replica)]);
  const pair = { primary: primarySide, replica: replicaSide };
  if (pair.primary.certname === pair.replica.certname)
    throw new PefError(
      'pef/validation-error',
      `${options.task}: ${primary.target.name} and ${replica.target.name} have the same certname ${pair.primary.certname}; receiver must be the replica. Nothing was changed.`,
      { certname: pair.primary.certname },
    );
  return pair;
}
