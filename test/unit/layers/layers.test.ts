import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../../..');
const depcruise = path.join(repo, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Runs the layer check of `npm test` on a tree, as `npm run check:layers` does on ours. */
async function checkLayers(cwd: string): Promise<{ exitCode: number; output: string }> {
  const r = await execa(process.execPath, [depcruise, 'src', '--config', '.dependency-cruiser.cjs'], { cwd, reject: false, all: true });
  return { exitCode: r.exitCode ?? 1, output: r.all ?? '' };
}

let tmp: string | null = null;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = null;
});

/** A tree with our layer rules and the given TypeScript files under src/. */
function tree(files: Record<string, string>): string {
  tmp = mkdtempSync(path.join(tmpdir(), 'rm-layers-'));
  copyFileSync(path.join(repo, '.dependency-cruiser.cjs'), path.join(tmp, '.dependency-cruiser.cjs'));
  writeFileSync(path.join(tmp, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    writeFileSync(path.join(tmp, rel), text);
  }
  return tmp;
}

describe('the layers of src/', () => {
  it('hold in this repository: no folder imports one of its own layer or above', async () => {
    const r = await checkLayers(repo);
    expect(r.output).toContain('no dependency violations found');
    expect(r.exitCode).toBe(0);
  });

  it('fail the check when a lower folder imports a higher one (model → cli)', async () => {
    const r = await checkLayers(
      tree({
        'src/model/types.ts': "import { run } from '../cli/main.js';\nexport const x = run;\n",
        'src/cli/main.ts': "export const run = 1;\n",
      }),
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toContain('layer-model: src/model/types.ts → src/cli/main.ts');
  });

  it('fail the check when two domain rooms import each other, even for types only', async () => {
    const r = await checkLayers(
      tree({
        'src/flags/a.ts': "import type { B } from '../edits/b.js';\nexport type A = B;\n",
        'src/edits/b.ts': "export type B = number;\n",
      }),
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toContain('layer-flags: src/flags/a.ts → src/edits/b.ts');
  });

  it('fail the check for a folder that has no place in the layers', async () => {
    const r = await checkLayers(tree({ 'src/extra/x.ts': "import { y } from '../model/y.js';\nexport const x = y;\n", 'src/model/y.ts': 'export const y = 1;\n' }));
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toContain('no-unknown-folder');
  });
});
