/**
 * pef's version, compiled into the build so `pef --version` prints it without reading
 * package.json or loading the argument parser (bin/pef.js). A unit test keeps it equal to
 * package.json's `version`; change both together.
 */

/** The version of this build of pef. */
export const VERSION = '0.1.0';
