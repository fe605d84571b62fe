import type { StoryPlugin } from '../model/plugin-types.js';

/**
 * Story 1.4: Transformation Workflows - dbt-core Integration.
 * Footprint as the pack really shipped it (ajdoyl2/data-practitioner-agent-system@140000bc5e80b0bd95bcb2222c2183cf857e2e80, subtree bmad-method/).
 */
export default {
  id: '1.4',
  feature: 'dbt_transformations',
  title: "Transformation Workflows - dbt-core Integration",
  dependsOn: ["1.3"],
  code: [
    "tools/data-services/dbt-wrapper.js",
    "tools/data-services/transformation-engine.js",
    "tools/data-services/model-generator.js",
    "tools/data-services/test-result-parser.js",
  ],
  config: [],
  tests: [
    "tests/data-services/dbt-wrapper.test.js",
    "tests/data-services/transformation-engine.test.js",
    "tests/data-services/test-result-parser.test.js",
  ],
  docs: [],
  // Kept or removed, after the pack's rollback guide ("backs up dbt models and documentation; preserves
  // transformation history; removes dbt targets and logs"): nothing of this story's own is kept. Its one data path
  // is the dbt project dbt-wrapper writes: the models (backed up, per the guide), target/ with the generated docs
  // and logs/ (removed, per the guide). The transformation history the guide preserves is what dbt wrote into the
  // warehouse: its profile points at .duckdb/analytics.db (marts, the `snapshots` schema, stored test failures),
  // which is story 1.3's, never touched by a 1.4 rollback and kept by a 1.3 one.
  data: [
    "bmad-data-practitioner/dbt-project/",
  ],
  caches: [],
  npm: [],
  python: ["dbt-core","dbt-duckdb"],
  services: [
    { name: "dbt CLI run", argv: ["dbt"], start: "spawned per run by tools/data-services/dbt-wrapper.js" },
  ],
  envPrefixes: ["DBT_"],
  sharedEdits: [

  ],
  notes: "dbt-wrapper.js defaults to <root>/bmad-data-practitioner/dbt-project (models, target/ and logs/ land there). The repository-root dbt project outside this root is never touched.",
} satisfies StoryPlugin;
