// Two builds of the compiled CLI (dist/, from tsc):
// 1. dist/bundle/: a few ES module chunks, the `rollback-manager` bin (commands still load lazily, one chunk
//    each). Why: Node 20 spends most of `status`'s start-up resolving and loading ~150 small module files
//    (ours and yaml's); one bundle per command loads a handful instead.
// 2. tools/rollback/: the single-file CommonJS build `init` vendors into a project, with the wrappers it
//    writes there for the built-in stories (see writeToolsFolder).
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

await writeToolsFolder('tools/rollback');

/**
 * The package's tools/rollback/: exactly what `init` writes into a project whose stories are the built-in
 * ones. One self-contained CommonJS file (format cjs, no splitting: a project gets one file to vendor and
 * review, which runs where npm cannot install and pins the version that wrote its journals), its folder's
 * package.json (CommonJS whatever the project says), and the wrappers. Everything in the folder is
 * generated: it is cleared first.
 */
async function writeToolsFolder(dir) {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
  // The hash worker has no file beside a single-file build: its code goes in as a string, run with eval.
  const worker = await build({
    entryPoints: ['dist/backup/hash-worker.mjs'],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'warning',
  });
  const single = await build({
    entryPoints: ['dist/cli/pack-entry.js'],
    bundle: true,
    splitting: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    define: {
      __ROLLBACK_MANAGER_SINGLE_FILE__: JSON.stringify({ version, hashWorker: worker.outputFiles[0].text }),
      // What import.meta.url would be for this file (code reached only outside the single-file build uses it).
      'import.meta.url': '__rmFileUrl',
    },
    banner: { js: 'var __rmFileUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: 'warning',
  });
  const { sealed, wrapperFiles } = await import('./dist/app/init-files.js');
  const { BUILTIN_STORIES } = await import('./dist/stories/index.js');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const bundled = bundledPackages(single.metafile);
  const head = [
    '#!/usr/bin/env node',
    `// rollback-manager ${version}: the whole tool in one CommonJS file, for node tools/rollback/rollback-manager.js`,
    "// and require('./tools/rollback/rollback-manager'). Vendored by `rollback-manager init`, which replaces it when run",
    '// again (a copy changed since only with --force, after a backup): do not edit.',
    `// Bundled packages: ${bundled.join(', ')}.`,
  ];
  const bundleFile = path.join(dir, 'rollback-manager.js');
  writeFileSync(bundleFile, sealed(head, '//', single.outputFiles[0].text));
  chmodSync(bundleFile, 0o755);
  for (const f of wrapperFiles(BUILTIN_STORIES)) {
    const file = path.join(dir, path.basename(f.path));
    writeFileSync(file, f.text);
    chmodSync(file, f.mode);
  }
  const sum = createHash('sha256').update(readFileSync(bundleFile)).digest('hex').slice(0, 12);
  if (process.env.npm_config_loglevel !== 'silent') process.stdout.write(`${bundleFile}: ${readdirSync(dir).length} files in the folder, bundle sha256 ${sum}…\n`);
}

/** `name version (license)` of each package of node_modules whose code the single file holds, sorted. */
function bundledPackages(metafile) {
  const names = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) names.add(m[1]);
  }
  return [...names].sort().map((name) => {
    const pkg = JSON.parse(readFileSync(path.join('node_modules', name, 'package.json'), 'utf8'));
    return `${name} ${pkg.version} (${typeof pkg.license === 'string' ? pkg.license : 'see its package'})`;
  });
}
