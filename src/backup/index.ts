/**
 * Verified backup archives: create (archive, fsync, re-read and check file by file), verify, restore.
 * "Nothing is deleted before it sits in a backup that has been re-read and checked file by file."
 */
export { createBackup, type CreateBackupOptions, type BackupResult } from './create-backup.js';
export { verifyBackup, type VerifyReport } from './verify-backup.js';
export { extractBackup, type ExtractOptions, type ExtractResult } from './extract-backup.js';
export { findConflicts, scanRestore, SELECTED, IDENTICAL, type Conflict, type OutsideLink, type RestoreScan } from './conflicts.js';
export { ManifestFile, readManifest, readManifestHead } from './manifest-file.js';
export {
  archiveFingerprint,
  compareTreePaths,
  isBelow,
  archiveFileName,
  MANIFEST_FILE,
  type Manifest,
  type ManifestHead,
  type ManifestEntry,
  type EntryType,
  type Compression,
} from './manifest.js';
