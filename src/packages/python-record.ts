/**
 * Parsing the two dist-info files that say which files a distribution owns: `RECORD` (PEP 376 / the
 * wheel spec) and `entry_points.txt` (its console and GUI scripts). Pure text in, data out.
 */

/**
 * The paths listed in a RECORD file, in order, as written (relative to site-packages, POSIX, possibly
 * `../../../bin/x` or absolute). RECORD is CSV written by Python's `csv` module: a path containing a comma
 * or a quote is quoted, with `""` for a quote inside.
 */
export function parseRecord(text: string): string[] {
  const paths: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const first = firstCsvField(line);
    if (first !== '') paths.push(first);
  }
  return paths;
}

/** The first field of one CSV line (the path; the hash and size that follow are not needed here). */
function firstCsvField(line: string): string {
  if (!line.startsWith('"')) {
    const comma = line.indexOf(',');
    return comma === -1 ? line : line.slice(0, comma);
  }
  let out = '';
  for (let i = 1; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      if (line[i + 1] === '"') {
        out += '"';
        i++;
      } else {
        return out;
      }
    } else {
      out += ch;
    }
  }
  return out; // Unterminated quote: take what is there rather than drop the entry.
}

/**
 * The script names declared in `[console_scripts]` and `[gui_scripts]` of an `entry_points.txt`. pip
 * generates `<venv>/bin/<name>` for each at install and removes them at uninstall even when RECORD does
 * not list them, so they belong to the distribution.
 */
export function parseEntryPointScripts(text: string): string[] {
  const names: string[] = [];
  let inScripts = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      const title = (section[1] ?? '').trim();
      inScripts = title === 'console_scripts' || title === 'gui_scripts';
      continue;
    }
    if (!inScripts) continue;
    const eq = line.indexOf('=');
    const name = (eq === -1 ? '' : line.slice(0, eq)).trim();
    if (name !== '') names.push(name);
  }
  return names;
}
