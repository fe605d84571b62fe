// Bundles the compiled CLI into a few ES module chunks (commands still load lazily, one chunk each).
// Why: Node 20 spends most of `status`'s start-up resolving and loading ~150 small module files (ours and
// yaml's); one bundle per command loads a handful instead.
import { build } from 'esbuild';

await build({
  entryPoints: {
    main: 'dist/cli/main.js',
    // The hash pipeline starts its worker as `new URL('./hash-worker.mjs', import.meta.url)`, and its code
    // lands in a chunk here: the worker must be emitted beside it under that name.
    'hash-worker': 'dist/backup/hash-worker.mjs',
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  // Bundled CommonJS dependencies (yaml, commander) still call require for Node's built-ins.
  banner: { js: "import { createRequire as __rmCreateRequire } from 'node:module'; const require = __rmCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
