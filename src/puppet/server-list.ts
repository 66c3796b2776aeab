/**
 * Puppet's `server_list` setting: the servers an agent tries in order (`host[:port]`, comma
 * separated). One parser for the tasks that take it as a parameter (an array or a comma string),
 * and one normal form to compare what `puppet config print server_list` says with what is wanted.
 */
import { z } from 'zod';

/** One server_list entry: host or host:port. */
export const SERVER_ENTRY = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/;

/** Splits a server_list value (string or list) into trimmed, non-empty entries. */
export function splitServerList(value: string | readonly string[]): string[] {
  const parts = typeof value === 'string' ? value.split(',') : value.flatMap((v) => v.split(','));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** The setting's text as pef writes it: entries joined by commas, no spaces. */
export function formatServerList(entries: readonly string[]): string {
  return entries.join(',');
}

/** The host part of an entry (`primary.lab:8140` → `primary.lab`). */
export function serverHost(entry: string): string {
  return entry.replace(/:\d+$/, '');
}

/** A `server_list` task parameter: an array or a comma string of `host[:port]`, at least one. */
export function serverListParam(description: string) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((value) => splitServerList(value))
    .pipe(
      z
        .array(z.string().regex(SERVER_ENTRY, 'each server must be host or host:port (letters, digits, dots, dashes)'))
        .min(1, 'give at least one server')
        .refine((list) => new Set(list).size === list.length, 'a server is listed twice'),
    )
    .describe(description);
}
