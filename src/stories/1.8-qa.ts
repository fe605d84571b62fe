import type { StoryPlugin } from '../model/plugin-types.js';

/**
 * Story 1.8: Quality Assurance and Documentation.
 * Footprint as the pack really shipped it (ajdoyl2/data-practitioner-agent-system@140000bc5e80b0bd95bcb2222c2183cf857e2e80, subtree bmad-method/).
 */
export default {
  id: '1.8',
  feature: 'qa_framework',
  title: "Quality Assurance and Documentation",
  dependsOn: [],
  code: [
    "tools/data-services/quality-assurance-engine.js",
    "tools/data-services/test-orchestrator.js",
    "tools/data-services/documentation-generator.js",
    "tools/data-services/documentation-engine.js",
    "tools/data-services/monitoring-logger.js",
    "tools/data-services/metrics-collector.js",
    "tools/data-services/performance-monitor.js",
    "tools/data-services/alerting-engine.js",
    "tools/data-services/observability-integration.js",
    "tools/data-services/distributed-tracing.js",
    "tools/data-services/monitoring-engine.js",
    "expansion-packs/bmad-data-practitioner/tools/knowledge-base-search.js",
  ],
  config: [
    "config/quality-assurance/monitoring-config.yaml",
    "config/quality-assurance/quality-gates.yaml",
    "config/quality-assurance/test-suites.yaml",
    "config/quality-assurance/validation-checkpoints.yaml",
    "expansion-packs/bmad-data-practitioner/monitoring-config/monitoring-config.yaml",
    "expansion-packs/bmad-data-practitioner/quality-config/monitoring-config.yaml",
    "expansion-packs/bmad-data-practitioner/quality-config/quality-gates.yaml",
    "expansion-packs/bmad-data-practitioner/quality-config/test-suites.yaml",
  ],
  tests: [
    "tests/comprehensive/chaos-engineering.test.js",
    "tests/comprehensive/end-to-end-pipeline.test.js",
    "tests/comprehensive/performance-regression.test.js",
    "tests/comprehensive/quality-validation.test.js",
    "tests/comprehensive/epic-integration-validation.test.js",
    "tests/comprehensive/system-validation.test.js",
    "tests/comprehensive/test-report.json",
    "tests/data-services/quality-assurance-engine.test.js",
    "tests/data-services/test-orchestrator.test.js",
    "tests/data-services/documentation-generator.test.js",
    "tests/data-services/documentation-engine.test.js",
    "tests/data-services/monitoring-engine.test.js",
    "tests/integration/epic-integration.test.js",
    "tests/data-services/evidence-pages/",
    "tests/data-services/evidence-sources/",
    "tests/data-services/temp-source/",
    "tests/fixtures/performance-trends.json",
    "tests/fixtures/temp/",
    "test-fixtures/",
  ],
  docs: [
    "config/quality-assurance/README.md",
    "expansion-packs/bmad-data-practitioner/docs/architectural-decisions/ADR-001-duckdb-as-analytics-engine.md",
    "expansion-packs/bmad-data-practitioner/docs/architectural-decisions/README.md",
    "expansion-packs/bmad-data-practitioner/docs/best-practices.md",
    "expansion-packs/bmad-data-practitioner/docs/configuration-reference.md",
    "expansion-packs/bmad-data-practitioner/docs/deployment-guide.md",
    "expansion-packs/bmad-data-practitioner/docs/developer-onboarding.md",
    "expansion-packs/bmad-data-practitioner/docs/troubleshooting.md",
    "expansion-packs/bmad-data-practitioner/docs/user-guides/data-analyst-training.md",
    "expansion-packs/bmad-data-practitioner/templates/documentation-review-process.md",
    "expansion-packs/bmad-data-practitioner/templates/knowledge-capture-workflow.md",
    "expansion-packs/bmad-data-practitioner/templates/troubleshooting-workflow.md",
    "tests/comprehensive/cross-tool-testing-patterns.md",
    "tests/comprehensive/integration-testing-framework.md",
  ],
  // Kept or removed, after the pack's rollback guide ("backs up test reports; preserves documentation; maintains
  // quality metrics"): the quality metrics and their record stay in place: the monitoring engine's data, the
  // collected metrics, the alert history, the SLA compliance report and the validation reports. So does the
  // documentation the documentation engine versioned. The trace spans are per-request debugging output, neither a
  // metric nor a record: removed, after the backup.
  data: [
    { path: "data/monitoring/", keep: true, why: "quality metrics and alerts the monitoring engine recorded" },
    { path: "docs/generated/", keep: true, why: "documentation versions the documentation engine recorded (the guide preserves documentation)" },
    { path: "reports/", keep: true, why: "the epic and system validation reports: the quality record" },
    { path: "logs/metrics/", keep: true, why: "quality metrics the metrics collector wrote" },
    "logs/traces/",
    { path: "logs/alerts.log", keep: true, why: "the alert history" },
    { path: "logs/sla-compliance-report.json", keep: true, why: "the SLA compliance report, a quality metric" },
  ],
  caches: [
    ".cache/documentation/",
  ],
  npm: [],
  python: [],
  services: [],
  envPrefixes: ["QA_","MONITORING_ENDPOINT"],
  sharedEdits: [
    { file: "tools/data-services/monitoring-dashboard.js", owner: '1.3', what: "Commit 1958ab5 (+191/-25) on the 1.3 / 1.0.2 file. Renamed class DuckDBMonitoringDashboard to DataPipelineMonitoringDashboard, added top-level requires of ./metrics-collector and ./monitoring-logger, made the DuckDB monitor optional, and added pipeline dashboards, health checks and thresholds (dataQuality 75, errorRate 0.05, slaCompliance 99.5). Removing the 1.8 code breaks monitoring-dashboard.js, and with it scripts/monitor-duckdb.js and duckdb-cli-integration.js, at require time unless this edit is reverted" },
  ],
  notes: "logs/ is shared with the security logger and is never removed whole. The monitoring engine runs in-process (timers), with no process of its own.",
} satisfies StoryPlugin;
