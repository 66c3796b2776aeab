/**
 * The task parameters PE's DR tasks share: which replica (inventory name or certname) and how the
 * RBAC token is given (a file on the host, or a sensitive password pef logs in with).
 */
import { z } from 'zod';
import { sensitiveString } from '../task/params.js';
import { DEFAULT_TOKEN_FILE } from './pe-infrastructure.js';

const CERTNAME = /^[A-Za-z0-9._-]+$/;

/** Which replica: shared by provision_replica and forget_replica. */
export const replicaParams = {
  replica: z.string().min(1).optional().describe("the replica's inventory name; pef reads its certname there"),
  replica_certname: z
    .string()
    .regex(CERTNAME)
    .optional()
    .describe("the replica's certname, instead of replica (for a host pef cannot reach)"),
};

/** The RBAC token: shared by the tasks that need one. */
export const tokenParams = {
  token_file: z
    .string()
    .min(1)
    .optional()
    .describe(`token file on the host (default ${DEFAULT_TOKEN_FILE}); see puppet access login`),
  rbac_password: sensitiveString(
    'RBAC password: pef runs `puppet access login` (password on stdin) and uses the token it writes',
  ).optional(),
  rbac_user: z.string().min(1).default('admin').describe('RBAC user for rbac_password'),
};
