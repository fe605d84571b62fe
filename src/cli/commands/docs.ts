import { renderRollbackDocs, writeRollbackDocs } from '../../app/rollback-docs.js';
import { loadProject } from '../../project/project.js';
import { printJson, type GlobalOptions } from '../global-options.js';

/** `docs [--output FILE]`: the rollback procedures document, on stdout or written to FILE. */
export async function docsCommand(g: GlobalOptions, opts: { output?: string }): Promise<number> {
  if (opts.output === undefined) {
    const markdown = renderRollbackDocs(await loadProject(g.root));
    if (g.json) printJson({ markdown });
    else process.stdout.write(markdown);
    return 0;
  }
  const { file } = await writeRollbackDocs(g.root, opts.output);
  if (g.json) printJson({ file });
  else process.stdout.write(`Wrote ${file}\n`);
  return 0;
}
