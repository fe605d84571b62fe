import { readdirSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, ExitCode } from '../../model/errors.js';
import { LAYOUT } from '../../model/layout.js';
import { verifyBackup, type VerifyReport } from '../../backup/index.js';
import { printJson, type GlobalOptions } from '../global-options.js';

/** `verify [backup-id]`: re-read archives and check every file against the manifest. Exit 1 if any fails. */
export async function verifyCommand(g: GlobalOptions, id: string | undefined): Promise<number> {
  const dir = path.join(path.resolve(g.root), LAYOUT.backups);
  let ids: string[];
  try {
    ids = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    ids = [];
  }
  if (id !== undefined) {
    if (!ids.includes(id)) throw new InvalidInputError(`no backup ${id} in ${LAYOUT.backups}/`, { code: 'E_NO_BACKUP' });
    ids = [id];
  }
  const reports: VerifyReport[] = [];
  for (const b of ids) reports.push(await verifyBackup(path.join(dir, b)));
  const bad = reports.filter((r) => !r.ok);
  if (g.json) printJson({ backups: reports.map((r, i) => ({ ...r, id: ids[i] })) });
  else {
    const lines = reports.map((r, i) => `${r.ok ? 'ok     ' : 'FAILED '} ${ids[i]}  ${r.files} files, ${r.bytes} bytes${r.ok ? '' : `\n         ${r.problems.join('\n         ')}`}`);
    process.stdout.write(`${lines.length > 0 ? lines.join('\n') : 'No backups.'}\n`);
  }
  return bad.length > 0 ? ExitCode.failedReverted : ExitCode.ok;
}
