/** npm package removal: plan, apply and revert, without the npm CLI or the network. */
export { applyNpmRemoval, planNpmRemoval, revertNpmRemoval } from './npm-removal.js';
export type { NpmApplyOptions } from './npm-removal.js';
export type { NpmFileChanges, NpmFlagChange, NpmJsonChange, NpmRemovalPlan, NpmRemovalRecord } from './npm-types.js';
export type { DepFlags } from './npm-lock-graph.js';
export type { JsonValue } from './npm-json-scan.js';
