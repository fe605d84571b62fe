/**
 * What the single-file CommonJS build (`tools/rollback/rollback-manager.js`, made by build-cli.mjs) tells the
 * code it bundles. That build is vendored into a project alone, with no package.json or worker file beside it,
 * so what the other builds read from files comes in at build time (esbuild `define`). Undefined everywhere
 * else: the sources, dist/ and the ES module bundle read the files.
 */
declare const __ROLLBACK_MANAGER_SINGLE_FILE__: SingleFileBuild | undefined;

/** Build-time facts of the single-file build. */
export interface SingleFileBuild {
  /** This package's version (its package.json is not vendored). */
  version: string;
  /** The hash worker's code, one CommonJS script, run with `new Worker(code, { eval: true })`. */
  hashWorker: string;
}

/** Set in the single-file build only. */
export const SINGLE_FILE: SingleFileBuild | undefined =
  typeof __ROLLBACK_MANAGER_SINGLE_FILE__ === 'undefined' ? undefined : __ROLLBACK_MANAGER_SINGLE_FILE__;
