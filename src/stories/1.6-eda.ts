import type { StoryPlugin } from '../model/plugin-types.js';

/**
 * Story 1.6: Automated Analysis - EDA and Hypothesis Generation.
 * Footprint as the pack really shipped it (ajdoyl2/data-practitioner-agent-system@140000bc5e80b0bd95bcb2222c2183cf857e2e80, subtree bmad-method/).
 */
export default {
  id: '1.6',
  feature: 'eda_automation',
  title: "Automated Analysis - EDA and Hypothesis Generation",
  dependsOn: ["1.3"],
  code: [
    "tools/data-services/eda-engine.js",
    "tools/data-services/hypothesis-generator.js",
    "tools/data-services/statistical-tester.js",
    "tools/data-services/pattern-detector.js",
    "expansion-packs/bmad-data-practitioner/python-analysis/eda_automation.py",
    "expansion-packs/bmad-data-practitioner/python-analysis/hypothesis_generation.py",
    "expansion-packs/bmad-data-practitioner/python-analysis/statistical_testing.py",
    "expansion-packs/bmad-data-practitioner/python-analysis/pattern_detection.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/assets/automated_analysis_assets.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/jobs/automated_analysis_job.py",
  ],
  config: [],
  tests: [
    "tools/data-services/test-eda-simple.js",
    "tools/data-services/test-hypothesis-generator.js",
    "tools/data-services/test-statistical-tester.js",
    "tools/data-services/test-pattern-detector.js",
    "tools/data-services/test-integration-story-1.6.js",
  ],
  docs: [
    "expansion-packs/bmad-data-practitioner/tasks/hypothesis-testing.md",
  ],
  // Kept or removed, after the pack's rollback guide ("preserves analysis results; maintains hypothesis records"):
  // this story has no data path to keep. Its engines write the EDA reports and the hypotheses to .cache/eda-reports/
  // and .cache/hypotheses/ as caches (valid 24 hours, cleaned after 7 days by the engines themselves), removed; the
  // analysis results that last are in the DuckDB database, story 1.3's, kept there.
  data: [],
  caches: [
    ".cache/eda-reports/",
    ".cache/hypotheses/",
  ],
  npm: [],
  python: ["ydata-profiling","sweetviz","autoviz","scipy","scikit-learn","statsmodels"],
  // The pack's evidence: the analysis scripts need the data stack 1.2 added.
  pythonUses: ['pandas', 'numpy', 'pyarrow', 'duckdb'],
  services: [
    { name: "eda worker", argv: ["python-analysis/eda_automation.py"], start: "spawned per call by tools/data-services/eda-engine.js" },
    { name: "statistical-testing worker", argv: ["python-analysis/statistical_testing.py"], start: "spawned per call by statistical-tester.js" },
    { name: "pattern-detection worker", argv: ["python-analysis/pattern_detection.py"], start: "spawned per call by pattern-detector.js" },
    { name: "hypothesis-generation worker", argv: ["python-analysis/hypothesis_generation.py"], start: "spawned per call by hypothesis-generator.js" },
  ],
  envPrefixes: ["EDA_"],
  sharedEdits: [
    { file: "tools/data-services/analytical-engine.js", owner: '1.3', what: "Commit 2791ae2 (+1025 lines). Added top-level requires of ./eda-engine, ./hypothesis-generator and ./statistical-tester, created those engines in the constructor (cache paths .cache/analytics/{eda,hypotheses,statistical-tests}), and added 17 routes under /api/v1/analytics/eda/*, /hypotheses/* and /statistics/*. Removing the 1.6 files makes analytical-engine.js (1.3) fail at require time unless this edit is reverted" },
    { file: "config/feature-flags.yaml", what: "Commit 2791ae2. Added 4 top-level flags, all enabled: true with dependencies: [] and no link to eda_automation: automated_eda (read by eda-engine.js), agent_hypothesis_generation (hypothesis-generator.js), statistical_testing and pattern_detection. Also set duckdb_analytics and eda_automation to true; c6830ba set both back to false" },
  ],
  notes: "The four sub-flags automated_eda, agent_hypothesis_generation, statistical_testing and pattern_detection have no dependency on eda_automation and stay as they are. statistical-tester.js also writes ../.cache/statistical-tests/ outside the root, which is never touched.",
} satisfies StoryPlugin;
