import type { StoryMonitorDefaults } from '../model/monitor-types.js';
import type { StoryPlugin } from '../model/plugin-types.js';

/**
 * What the threshold monitor watches by default: the orchestrator's health endpoint and its requests in the
 * security log.
 */
const monitor: StoryMonitorDefaults = {
  probes: [{ url: "http://127.0.0.1:3003/health", timeoutMs: 2000 }],
  logs: [{ file: "logs/security.log", match: { url: "^/api/v1/orchestration(?:[/?]|$)" } }],
};

/**
 * Story 1.5: Workflow Orchestration - Dagster Integration.
 * Footprint as the pack really shipped it (ajdoyl2/data-practitioner-agent-system@140000bc5e80b0bd95bcb2222c2183cf857e2e80, subtree bmad-method/).
 */
export default {
  id: '1.5',
  feature: 'dagster_orchestration',
  title: "Workflow Orchestration - Dagster Integration",
  dependsOn: ["1.2","1.3"],
  code: [
    "tools/data-services/dagster-wrapper.js",
    "tools/data-services/workflow-orchestrator.js",
    "tools/data-services/asset-manager.js",
    "tools/data-services/pipeline-monitor.js",
    "expansion-packs/bmad-data-practitioner/dagster-project/assets/analytics_assets.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/assets/ingestion_assets.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/assets/publication_assets.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/assets/transformation_assets.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/jobs/data_pipeline_jobs.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/jobs/manual_triggers.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/schedules/daily_data_refresh.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/schedules/hourly_incremental.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/sensors/data_source_sensor.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/visualization/lineage_visualizer.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/visualization/lineage_web_interface.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/ui_integration/bmad_ui_helpers.js",
    "expansion-packs/bmad-data-practitioner/dagster-project/ui_integration/setup_ui_integration.js",
    "expansion-packs/bmad-data-practitioner/dagster-project/static/bmad-ui-enhancements.js",
    "expansion-packs/bmad-data-practitioner/dagster-project/static/bmad-ui-styles.css",
  ],
  config: [
    "expansion-packs/bmad-data-practitioner/dagster-project/dagster.yaml",
    "expansion-packs/bmad-data-practitioner/dagster-project/workspace.yaml",
    "expansion-packs/bmad-data-practitioner/dagster-project/config/dagster.yaml",
    "expansion-packs/bmad-data-practitioner/dagster-project/config/ui/asset-metadata.json",
    "expansion-packs/bmad-data-practitioner/dagster-project/config/ui/dashboard.json",
    "expansion-packs/bmad-data-practitioner/dagster-project/config/ui/navigation.json",
    "expansion-packs/bmad-data-practitioner/dagster-project/config/ui/quick-actions.json",
    "expansion-packs/bmad-data-practitioner/dagster-project/config/ui/workspace-enhancements.json",
  ],
  tests: [
    "tests/data-services/dagster-wrapper.test.js",
    "tests/data-services/workflow-orchestrator.test.js",
    "tests/helpers/test-auth-helper.js",
    "tests/helpers/test-cleanup-helper.js",
  ],
  docs: [
    "expansion-packs/bmad-data-practitioner/dagster-project/README.md",
    "expansion-packs/bmad-data-practitioner/dagster-project/README-UI-Integration.md",
  ],
  // Kept or removed, after the pack's rollback guide ("preserves run history"; 1.3's "maintains data lineage
  // records"): Dagster's run and event storage (storage/, where dagster.yaml puts it), its history/ and the runs'
  // compute logs (logs/, the output the run history links to) are the run history, kept; the lineage images in
  // lineage_outputs/ are the lineage records, kept. artifacts/ holds the asset values the IO manager stored
  // between steps: outputs a re-run materialises again, not a record of one, so it goes.
  data: [
    { path: "expansion-packs/bmad-data-practitioner/dagster-project/storage/", keep: true, why: "Dagster's run and event storage: the run history the guide preserves" },
    { path: "expansion-packs/bmad-data-practitioner/dagster-project/logs/", keep: true, why: "the runs' compute logs, which the run history links to" },
    "expansion-packs/bmad-data-practitioner/dagster-project/artifacts/",
    { path: "expansion-packs/bmad-data-practitioner/dagster-project/history/", keep: true, why: "Dagster's run history (runs and their events)" },
    { path: "lineage_outputs/", keep: true, why: "the data lineage records the guide maintains (the lineage visualizer's output)" },
  ],
  caches: [],
  npm: [],
  python: ["dagster","dagster-webserver","dagster-postgres","dagster-docker"],
  // The pack's evidence: workflow-orchestrator and the monitoring dashboard serve with express, tests use
  // supertest; requirements-dagster.txt lists the shared Python packages 1.2 added.
  npmUses: ['express', 'supertest'],
  pythonUses: ['pandas', 'numpy', 'sqlalchemy', 'pyarrow', 'pyyaml', 'python-dotenv'],
  services: [
    { name: "dagster-daemon", argv: ["dagster","daemon","run"], start: "dagster daemon run --workspace-file <dagster-project>/workspace.yaml (via workflow-orchestrator)" },
    { name: "dagster-webserver", argv: ["dagster","dev"], port: 3001, start: "dagster dev --workspace-file <dagster-project>/workspace.yaml --port 3001" },
    { name: "lineage-web-interface", argv: ["visualization/lineage_web_interface.py"], port: 5000, start: "python visualization/lineage_web_interface.py --port 5000" },
    { name: "lineage-visualizer worker", argv: ["visualization/lineage_visualizer.py"], start: "spawned on demand by workflow-orchestrator.js" },
  ],
  monitor,
  envPrefixes: ["DAGSTER_","ORCHESTRATOR_PORT","LINEAGE_WEB_PORT","SKIP_SUNDAY_REFRESH","MAINTENANCE_HOUR_","DATA_SOURCE_API_KEY"],
  sharedEdits: [

  ],
  notes: "DAGSTER_HOME is the dagster-project directory: run storage, compute logs and artifacts land in storage/, logs/ and artifacts/ there. dagster-project/ also holds 1.6 and 1.7 files, so it is never removed whole. The workflow orchestrator (port 3003) is only started from code.",
} satisfies StoryPlugin;
