import type { StoryMonitorDefaults } from '../model/monitor-types.js';
import type { StoryPlugin } from '../model/plugin-types.js';

/**
 * What the threshold monitor watches by default: the analytical engine's health endpoint, and its lines in the
 * security log (requests by url, its api_error lines by service, analytics_query events with their latency).
 */
const monitor: StoryMonitorDefaults = {
  probes: [{ url: "http://127.0.0.1:3002/health", timeoutMs: 2000 }],
  logs: [
    { file: "logs/security.log", match: { url: "^/api/v1/analytics(?:[/?]|$)" } },
    { file: "logs/security.log", match: { service: "^analytical-engine$" } },
    { file: "logs/security.log", match: { event: "^analytics_query$" } },
  ],
};

/**
 * Story 1.3: Local Analytics - DuckDB Integration.
 * Footprint as the pack really shipped it (ajdoyl2/data-practitioner-agent-system@140000bc5e80b0bd95bcb2222c2183cf857e2e80, subtree bmad-method/).
 */
export default {
  id: '1.3',
  feature: 'duckdb_analytics',
  title: "Local Analytics - DuckDB Integration",
  dependsOn: [],
  code: [
    "tools/data-services/duckdb-wrapper.js",
    "tools/data-services/analytical-engine.js",
    "tools/lib/memory-manager.js",
    "tools/cli/duckdb-cli-integration.js",
    "tools/data-services/resource-monitor.js",
    "tools/data-services/monitoring-dashboard.js",
    "tools/data-services/benchmark-test-runner.js",
    "scripts/monitor-duckdb.js",
  ],
  config: [
    "expansion-packs/bmad-data-practitioner/data/duckdb-memory-config-templates.yaml",
    "expansion-packs/bmad-data-practitioner/data/duckdb-cli-integration-config.yaml",
    "expansion-packs/bmad-data-practitioner/data/resource-thresholds-config.yaml",
  ],
  tests: [
    "tests/data-services/duckdb-wrapper.test.js",
    "tests/data-services/analytical-engine.test.js",
    "tests/data-services/memory-manager.test.js",
    "tests/utils/duckdb-test-utils.js",
  ],
  docs: [],
  // Kept or removed, after the pack's rollback guide ("always backs up DuckDB data files; preserves analysis
  // results; maintains data lineage records"): the analytical database is kept in place. It holds the analysis
  // results, and the tables dbt (1.4) materialised into it; the backup holds it all the same. The query cache is
  // removed. The lineage records the pack writes to disk are 1.5's lineage_outputs/, kept by 1.5.
  data: [
    { path: ".duckdb/", keep: true, why: "the analytical database: analysis results, and the tables dbt built in it (the guide preserves analysis results)" },
  ],
  caches: [
    ".cache/analytics/",
  ],
  npm: ["duckdb"],
  python: [],
  // The pack's evidence: analytical-engine serves with express (added by 1.2); its tests use supertest.
  npmUses: ['express', 'supertest'],
  services: [
    { name: "monitor-duckdb dashboard", argv: ["node","scripts/monitor-duckdb.js","monitor"], port: 3001, start: "node scripts/monitor-duckdb.js monitor --web -p 3001" },
  ],
  monitor,
  envPrefixes: ["DUCKDB_","ANALYTICS_DATABASE_URL"],
  sharedEdits: [
    { file: "package.json", what: "Commit 6941c94. Added the scripts analytics:service ('node tools/cli.js start-analytics-service') and analytics:query ('node tools/cli.js analytics-query'); neither target command exists. Added dependency duckdb ^1.3.2" },
    { file: "tools/lib/security-logger.js", what: "Commit d4d5e00, which calls itself 'Complete Story 1.3 ... validation'. Added the SecurityEvents ANALYTICS_QUERY, DATA_LOAD and TABLE_DROP, and exported functions logAnalyticsQuery, logDataLoad and logTableDrop. Commit b9a5b2b (1.0.2) added configureLogPaths() and made LOG_DIR mutable; that change is generic" },
  ],
  notes: "DuckDB is embedded (no server); .duckdb/analytics.db is the analytical database and is always backed up. The analytical engine (port 3002) is only started from code. logs/pipeline-dashboard-*.json are left in logs/.",
} satisfies StoryPlugin;
