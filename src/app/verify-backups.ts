import { readdirSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import { verifyBackup, type VerifyReport } from '../backup/index.js';

/** One backup re-read and checked against its manifest. */
export interface VerifiedBackup extends VerifyReport {
  id: string;
}

/**
 * Re-reads every backup of the project (or the one named) and checks each file against its manifest.
 * Changes nothing. A named backup that does not exist is an input error.
 */
export async function verifyBackups(root: string, id?: string): Promise<VerifiedBackup[]> {
  const dir = path.join(path.resolve(root), LAYOUT.backups);
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
  const out: VerifiedBackup[] = [];
  for (const b of ids) out.push({ ...(await verifyBackup(path.join(dir, b))), id: b });
  return out;
}
