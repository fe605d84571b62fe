/**
 * The values `config/rollback.yaml` leaves out. A module of its own, without the schema, so that a project
 * with no config file loads without the validation code (start-up is what `status` costs).
 */

/** `backups:` when the file says nothing. */
export const DEFAULT_BACKUPS = { keep: 5, compression: 'none', gzipLevel: 1 } as const;

/** The project's venv when the file names none; unlike a named one it may be missing (no venv). */
export const DEFAULT_VENV = '.venv';
