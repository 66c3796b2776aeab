/**
 * pad_serial: raise the primary CA's next serial to at least a floor (0x186A0 = 100,000 by
 * default), so certificates the replica's copy of the CA issued never collide with new ones
 * from the primary (pe_failover's setup step). Never lowers it; keeps the file's format, owner
 * and mode; replaces it atomically.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { readRegularFileCommand, writeFileCommand } from '../src/host/files.js';
import { formatSerial, parseSerial, parseSerialParam } from '../src/puppet/ca-serial.js';
import { defineTask } from '../src/task/task.js';

/** The default floor: 0x186A0 (100,000), as pe_failover's README prescribes. */
export const DEFAULT_SERIAL_FLOOR = '0x186A0';

/**
 * Replaces the serial file (its new text on stdin) keeping its owner, group and mode, root-safely:
 * the cadir is puppet's, so a link planted at the serial or a temp name is refused or never followed.
 */
export function padSerialCommand(file: string): string {
  return writeFileCommand(file, 'keep');
}

/** Pads the CA serial; see the file comment. */
export const padSerial = defineTask({
  name: 'pad_serial',
  description: "Raise the CA's next serial to at least a floor (default 0x186A0), never lowering it",
  details: `Run on the CA (the primary). The serial file is found under the discovered cadir. Its
format (width, case, trailing newline) is kept, and it is replaced atomically with the same
owner and mode. A serial already at or above the floor is left alone (changed: false).`,
  params: z.object({
    minimum: z
      .union([z.string(), z.number()])
      .default(DEFAULT_SERIAL_FLOOR)
      .describe('the lowest next serial, hex (0x186A0) or a number'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const floor = parseSerialParam(ctx.params.minimum, 'minimum');
    const facts = await discoverHost((c) => ctx.read(c));
    if (!facts.paths.cadir || !facts.hasCa) {
      throw new PefError(
        'pef/task-failed',
        `${ctx.target.name} has no CA (cadir ${facts.paths.cadir || 'unknown'} holds no ca_crt.pem). Run pad_serial on the primary.`,
        {
          cadir: facts.paths.cadir,
        },
      );
    }
    const file = `${facts.paths.cadir}/serial`;
    const text = (await ctx.read(readRegularFileCommand(file))).stdout;
    const current = parseSerial(text, file);
    const before = `0x${current.value.toString(16).toUpperCase()}`;
    if (current.value >= floor) return { changed: false, value: { file, serial: before } };

    await ctx.change(padSerialCommand(file), { stdin: formatSerial(floor, current) });
    return { changed: true, value: { file, serial: `0x${floor.toString(16).toUpperCase()}`, previous: before } };
  },
});
