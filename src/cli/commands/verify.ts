import { ExitCode } from '../../model/errors.js';
import { verifyBackups } from '../../app/verify-backups.js';
import { printJson, type GlobalOptions } from '../global-options.js';

/** `verify [backup-id]`: re-read archives and check every file against the manifest. Exit 1 if any fails. */
export async function verifyCommand(g: GlobalOptions, id: string | undefined): Promise<number> {
  const reports = await verifyBackups(g.root, id);
  if (g.json) printJson({ backups: reports });
  else {
    const lines = reports.map((r) => `${r.ok ? 'ok     ' : 'FAILED '} ${r.id}  ${r.files} files, ${r.bytes} bytes${r.ok ? '' : `\n         ${r.problems.join('\n         ')}`}`);
    process.stdout.write(`${lines.length > 0 ? lines.join('\n') : 'No backups.'}\n`);
  }
  return reports.some((r) => !r.ok) ? ExitCode.failedReverted : ExitCode.ok;
}
