// Bundles the compiled CLI into a few ES module chunks (commands still load lazily, one chunk each).
// Why: Node 20 spends most of `status`'s start-up resolving and loading ~150 small module files (ours and
// yaml's); one bundle per command makes `status` about 2x `node -e 0` instead of 2.5-3.5x.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
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
