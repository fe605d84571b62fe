/**
 * The JSON-serialisable plan and record of an npm package removal. Plans can be shown and journaled
 * before anything changes; records say exactly what left each JSON file so it can be put back.
 */
import type { DepFlags } from './npm-lock-graph.js';
import type { JsonValue } from './npm-json-scan.js';

/** A lockfile entry that stays installed but whose dependency flags change (say, it becomes dev-only). */
export interface NpmFlagChange {
  /** Its `packages` key, e.g. `node_modules/shared-c`. */
  location: string;
  from: DepFlags;
  to: DepFlags;
}

/** What removing some packages from a project would do. Paths are relative to the root, POSIX separators. */
export interface NpmRemovalPlan {
  /** The requested packages package.json lists (dependencies, devDependencies or optionalDependencies), sorted. */
  remove: string[];
  /** The requested packages package.json does not list, sorted: nothing is done for them. */
  absent: string[];
  /**
   * What the caller backs up and then deletes: every installed package location that nothing reachable
   * needs once `remove` leaves the root (the packages and their transitive dependencies, nested ones
   * included) and that exists on disk, plus the `.bin` entries that point into them. Sorted.
   */
  paths: string[];
  /**
   * The lockfile `packages` keys that go, sorted: the installed ones (a superset of the package paths, as
   * some may not be on disk) and any project folder (a `file:` directory dependency's target) that only
   * hung off the tree through a removed package, which npm drops too but which is never deleted.
   */
  lockfileEntries: string[];
  /** Packages that stay but whose flags change, as npm would rewrite them. */
  flagChanges: NpmFlagChange[];
  /** Bytes of the files under `paths`. */
  bytes: number;
  /** The files planned against; apply refuses to edit them if they changed since. */
  sources: {
    packageJsonSha256: string | null;
    /** `package-lock.json`, or `npm-shrinkwrap.json` when there is one (npm prefers it), or null. */
    lockfile: string | null;
    lockfileSha256: string | null;
    lockfileVersion: number | null;
  };
}

/** One member that left (or, for a flag, joined) an object of a JSON file. */
export type NpmJsonChange =
  | {
      op: 'removed';
      /** Key path of the object that held it: `["devDependencies"]`, `["packages"]`, `["packages", ""]`. */
      in: string[];
      /** The member's key: a package name, a lockfile location, or a whole section's name when it emptied. */
      key: string;
      /** The member's value: a spec string, or a lockfile entry. */
      value: JsonValue;
      /** The key of the nearest member before it that stayed, or null when none did. */
      after: string | null;
      /** Whether the object was in npm's order, in which case revert puts the member back by that order. */
      sorted: boolean;
      /** The value's original text, only when it was formatted otherwise than this file's style would write it. */
      raw?: string;
    }
  | {
      op: 'added';
      in: string[];
      key: string;
      value: JsonValue;
    };

/** The changes made to one JSON file, in the order they were made (revert undoes them last first). */
export interface NpmFileChanges {
  /** `package.json`, `package-lock.json` or `npm-shrinkwrap.json`, relative to the root. */
  file: string;
  /** The file's style (indent unit, newline, key/value separator), for a revert into a file left with no member to learn it from. */
  format: { unit: string; newline: '\n' | '\r\n'; colon: string };
  changes: NpmJsonChange[];
}

/** What `applyNpmRemoval` did, enough for `revertNpmRemoval` to undo it. */
export interface NpmRemovalRecord {
  kind: 'npm-removal';
  version: 1;
  /** The packages removed from package.json. */
  removed: string[];
  /** The files in the order they were written; revert goes the other way. */
  files: NpmFileChanges[];
}
