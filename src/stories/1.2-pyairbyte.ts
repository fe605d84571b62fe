import type { StoryMonitorDefaults } from '../model/monitor-types.js';
import type { StoryPlugin } from '../model/plugin-types.js';

/**
 * What the threshold monitor watches by default: the ingestion service's health endpoint, and its lines in the
 * security log (its requests by url; its api_error lines name no url, only the service).
 */
const monitor: StoryMonitorDefaults = {
  probes: [{ url: "http://127.0.0.1:3001/health", timeoutMs: 2000 }],
  logs: [
    { file: "logs/security.log", match: { url: "^/api/v1/data-sources(?:[/?]|$)" } },
    { file: "logs/security.log", match: { service: "^data-ingestion$" } },
  ],
};

/**
 * Story 1.2: Data Ingestion - PyAirbyte Integration.
 * Footprint as the pack really shipped it (ajdoyl2/data-practitioner-agent-system@140000bc5e80b0bd95bcb2222c2183cf857e2e80, subtree bmad-method/).
 */
export default {
  id: '1.2',
  feature: 'pyairbyte_integration',
  title: "Data Ingestion - PyAirbyte Integration",
  dependsOn: [],
  code: [
    "tools/data-services/pyairbyte-wrapper.js",
    "tools/data-services/data-ingestion-service.js",
    "tools/data-services/connection-manager.js",
    "tools/lib/python-subprocess.js",
    "scripts/python/airbyte_connector.py",
  ],
  config: [
    "requirements.txt",
    ".python-version",
  ],
  tests: [
    "tests/data-services/pyairbyte-wrapper.test.js",
    "tests/data-services/data-ingestion-service.test.js",
    "tests/integration/python-nodejs-subprocess.test.js",
    "tests/integration/mock-python-scripts.test.js",
    "tests/fixtures/mock-python-scripts/pyairbyte-mock.py",
    "tests/fixtures/mock-python-scripts/data-processor.py",
    "tests/utils/pyairbyte-test-utils.js",
  ],
  docs: [
    "expansion-packs/bmad-data-practitioner/tasks/data-source-discovery.md",
    "docs/setup/pypi-package-access.md",
    "docs/setup/database-connections.md",
  ],
  // Kept or removed, after the pack's rollback guide ("backs up connector configurations; preserves ingested data
  // (optional)"): nothing is kept by default. config/data-sources/ holds the connector configurations, which the
  // guide backs up, not keeps: they configure a service the rollback removes. The ingested data the guide calls
  // optional is, on this story's disk, PyAirbyte's read caches and the upload staging folder (caches below, which
  // the wrapper clears itself); what a pipeline keeps of it lands in the DuckDB database, story 1.3's, kept there.
  // `--keep-data` keeps the connector configurations; `data: [{ path: data/uploads/, keep: true }]` under
  // `stories: { "1.2": … }` in config/rollback.yaml keeps the uploads.
  data: [
    "config/data-sources/",
  ],
  caches: [
    "data/uploads/",
    "data/cache/pyairbyte/",
    ".cache/pyairbyte/",
  ],
  npm: ["express","multer","supertest"],
  python: ["airbyte","pandas","numpy","sqlalchemy","pyyaml","duckdb","psycopg2-binary","pymysql","openpyxl","xlrd","pyarrow","python-dotenv"],
  services: [
    { name: "data-ingestion-service", argv: ["node","tools/cli.js","start-data-service"], port: 3001, start: "npm run data:service  (node tools/cli.js start-data-service -p 3001)" },
    { name: "airbyte-connector worker", argv: ["scripts/python/airbyte_connector.py"], start: "spawned per request by tools/data-services/pyairbyte-wrapper.js" },
  ],
  monitor,
  envPrefixes: ["PYAIRBYTE_","PYPI_"],
  sharedEdits: [
    { file: "tools/cli.js", what: "Commits 571c1ef and f7cb721. Added the commands 'start-data-service' (-p, default 3001), 'setup-python' (--reinstall; its fallback pip installs airbyte==0.20.0, pandas and numpy) and 'data-connectors'. Also added a top-level require of ../lib/feature-flag-manager (isFeatureEnabled, enableFeature, disableFeature, getAllFeatureStatuses). The same commit added the generic flag commands enable-feature, disable-feature and list-features, which belong to the 1.1.5 flag CLI and must stay. The 1.2 commands require their modules lazily, inside the action, so cli.js still loads after those modules are removed" },
    { file: "package.json", what: "Commit 9b422c7. Added the scripts setup:python, data:service, data:connectors and postinstall ('npm run setup:python --silent || echo ...'), and a trailing comma after 'prepare'. Added dependencies express ^4.18.2 and multer ^1.4.5-lts.1, and devDependency supertest ^6.3.4. Commit c0819c3 changed fs-extra from ^11.3.0 to ^10.1.0" },
    { file: "package-lock.json", what: "regenerated for the dependencies above (9b422c7, c0819c3)" },
    { file: ".gitignore", what: "Commit c0819c3. Added the block '# Python virtual environment' with .venv/, __pycache__/, *.pyc and .cache/" },
  ],
  notes: "The project .venv/ is shared with 1.5 and 1.6 and is never removed. pandas, numpy, pyarrow, pyyaml, sqlalchemy, python-dotenv and duckdb are also needed by 1.5 and 1.6. express is also used by 1.3 and 1.5, supertest by their tests.",
} satisfies StoryPlugin;
