/** Feature flags of the pack: read, reason about the dependency graph, and edit minimally. */
export type { FeatureFlag, FlagsDoc, LastModifiedSource, ScalarStyle, SourceSpan } from './flags-doc.js';
export { FlagsErrorCode, loadFlags, parseFlags } from './flags-file.js';
export {
  dependentsOf,
  effectiveStates,
  isEffective,
  planDisable,
  planEnable,
  topoOrder,
  WHY_RESTORED,
  WHY_ROLLED_BACK,
} from './graph.js';
export { applyFlagChanges, writeFlags } from './edit-flags.js';
