/**
 * Entry of the single-file CommonJS build, `tools/rollback/rollback-manager.js` (build-cli.mjs; `init`
 * vendors it into a project). One file, three uses:
 * - `require('./tools/rollback/rollback-manager')`: the pack's API (rollbackStory, rollbackMultipleStories,
 *   getRollbackStatus, generateRollbackDocs), acting on the project the file is vendored in;
 * - `node tools/rollback/rollback-manager.js <command>`: the command line, the same as `rollback-manager`;
 * - a worker thread it starts itself, to answer getRollbackStatus synchronously (see sync-call.ts).
 * Only this file knows it is CommonJS (`require.main`, `__filename`); the code it bundles does not.
 */
import { loadProject } from '../project/project.js';
import { packStatusOf, type PackStoryStatus } from '../app/pack-status.js';
import { packApi } from './pack-api.js';
import { commandRoot, runningFromToolsFolder } from './running-copy.js';
import { callSync, servedCall } from './sync-call.js';

runningFromToolsFolder(__dirname);

const STATUS = 'getRollbackStatus';

const api = packApi(
  () => commandRoot(undefined),
  (root) => callSync<Record<string, PackStoryStatus>>(__filename, STATUS, [root]),
);

/** The pack's API (see {@link packApi}), on the project this file is vendored in (or ROLLBACK_ROOT). */
export const { rollbackStory, rollbackMultipleStories, getRollbackStatus, generateRollbackDocs } = api;

const call = servedCall();
if (call !== null) {
  void call.answer(async () => {
    if (call.name !== STATUS) throw new Error(`unknown call ${call.name}`);
    return packStatusOf(await loadProject(String(call.args[0])));
  });
} else if (require.main === module) {
  // The command line: the module runs it (and exits) when it loads.
  void import('./main.js');
}
