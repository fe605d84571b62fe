/**
 * Check a backup directory: the archive, re-read from disk, against its manifest, entry by entry.
 */
import { archivePathOf, checkArchive } from './archive-check.js';
import { startHashPipeline } from './hash-pipeline.js';
import { ManifestFile } from './manifest-file.js';
import { archiveFingerprint } from './manifest.js';

/** Outcome of verifying a backup. */
export interface VerifyReport {
  /** True when there are no problems. */
  ok: boolean;
  backupId: string;
  /** File entries read from the archive and their content bytes. */
  files: number;
  bytes: number;
  /** Each problem names the path (or `archive:`) it is about. */
  problems: string[];
}

/**
 * Verify the backup in `dir`: archive size and fingerprint (its layout hash, or for a version 1 manifest
 * the whole file's sha256), then every entry: normal-form relative path
 * (no absolute path, no `..`), allowed type (no hardlink, device, fifo), listed in the manifest, not
 * duplicated, same type/size/mode/mtime/link target, same content sha256; and every manifest entry
 * present in the archive.
 *
 * @throws BackupIntegrityError when manifest.json is missing or malformed (there is nothing to check
 * against; the entries are read beside the archive, so this is known at the end). Every other finding
 * is reported in `problems`.
 */
export async function verifyBackup(
  dir: string,
  opts: {
    bufferSize?: number;
    hashInWorker?: boolean;
    /** `dir`'s manifest, already open: its later passes then reuse this one's checks (see ManifestFile). */
    manifest?: ManifestFile;
  } = {},
): Promise<VerifyReport> {
  const file = opts.manifest ?? ManifestFile.open(dir);
  const manifest = file.head;
  const fingerprint = archiveFingerprint(manifest);
  const hashes = await startHashPipeline(opts.hashInWorker ?? true, opts.bufferSize);
  let result;
  try {
    result = await checkArchive({
      archivePath: archivePathOf(dir, manifest),
      compression: manifest.archive.compression,
      entries: file.entries(),
      entriesAgain: () => file.entries(),
      expectedArchive: { bytes: manifest.archive.bytes, sha256: fingerprint.sha256 },
      archiveHash: fingerprint.kind,
      hashes,
    });
  } finally {
    await hashes.close();
  }
  return {
    ok: result.problems.length === 0,
    backupId: manifest.backupId,
    files: result.files,
    bytes: result.bytes,
    problems: result.problems,
  };
}
