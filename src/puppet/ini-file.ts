/**
 * The INI files of Puppet's servers (PuppetDB's conf.d/*.ini, the terminus's puppetdb.conf):
 * reading one setting and changing settings in place, keeping every other line (comments,
 * unknown keys, other sections) as it was, so a second run over the result changes nothing.
 * `key = value` lines, `[section]` headers, `#`/`;` comments; keys are matched exactly.
 */

const SECTION = /^\s*\[([^\]]+)\]\s*$/;
const SETTING = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/;

/** The value of `key` in `[section]` (the last one if repeated), or undefined. */
export function iniGet(text: string, section: string, key: string): string | undefined {
  let current = '';
  let found: string | undefined;
  for (const line of text.split('\n')) {
    const s = SECTION.exec(line);
    if (s) {
      current = (s[1] ?? '').trim();
      continue;
    }
    const kv = SETTING.exec(line);
    if (kv && current === section && kv[1] === key) found = kv[2] ?? '';
  }
  return found;
}

/**
 * `text` with each `settings` key of `[section]` set to its value (null: removed). An existing
 * line is replaced where it is (repeats after the first are dropped); a missing key is added at
 * the end of the section, and a missing section at the end of the file.
 */
export function iniSet(text: string, section: string, settings: Record<string, string | null>): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  const done = new Set<string>();
  let current = '';
  let sectionEnd = -1;
  const flushMissing = (): void => {
    for (const [key, value] of Object.entries(settings))
      if (!done.has(key) && value !== null) {
        out.push(`${key} = ${value}`);
        done.add(key);
      }
  };
  for (const line of lines) {
    const s = SECTION.exec(line);
    if (s) {
      if (current === section) flushMissing();
      current = (s[1] ?? '').trim();
      out.push(line);
      if (current === section) sectionEnd = out.length;
      continue;
    }
    const kv = SETTING.exec(line);
    const key = kv?.[1];
    if (current === section && key !== undefined && key in settings) {
      const value = settings[key];
      if (!done.has(key) && value !== null && value !== undefined) out.push(`${key} = ${value}`);
      done.add(key);
      continue;
    }
    out.push(line);
  }
  if (current === section) flushMissing();
  else if (sectionEnd < 0 && Object.values(settings).some((v) => v !== null)) {
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
    out.push(`[${section}]`);
    flushMissing();
  } else flushMissing();
  return `${out.join('\n')}\n`;
}
