/**
 * The project the pack was installed into: files no story owns. A rollback must leave every one of them
 * byte-identical, so their content is fixed text here, the same on every build.
 */

import { indent, STAND_IN_HOOKS } from './stand-in-hooks.js';

/** The base CLI's path: a real, runnable script, because story 1.2's service is `node tools/cli.js start-data-service`. */
export const BASE_CLI = 'tools/cli.js';

/** What the base CLI needs to run: a copy of it elsewhere (a twin) needs these too. */
export const BASE_CLI_FILES: readonly string[] = [BASE_CLI, 'tools/lib/feature-flag-manager.js'];

const CLI_JS = `#!/usr/bin/env node
/**
 * BMad Method CLI (base project). Story 1.2 added start-data-service, setup-python and data-connectors;
 * the flag commands enable-feature, disable-feature and list-features belong to the base.
 */
'use strict';

const { getAllFeatureStatuses } = require('./lib/feature-flag-manager');

const [command] = process.argv.slice(2);

function startDataService() {
  // The real service listens on -p (default 3001). This one only stays up, so parallel sandboxes never
  // fight over a port, and leaves cleanly on SIGTERM like the real one.
  process.on('SIGTERM', () => process.exit(0));
  setInterval(() => {}, 1 << 30);
${indent(STAND_IN_HOOKS, '  ')}}

switch (command) {
  case 'start-data-service':
    startDataService();
    break;
  case 'list-features':
    for (const [name, enabled] of Object.entries(getAllFeatureStatuses())) {
      console.log(\`\${enabled ? 'on ' : 'off'} \${name}\`);
    }
    break;
  default:
    console.log('usage: bmad <start-data-service|list-features>');
    process.exitCode = command === undefined ? 0 : 1;
}
`;

const FEATURE_FLAG_MANAGER_JS = `/**
 * Feature flags of the BMad Method (base project, story 1.1.5). Reads config/feature-flags.yaml.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const FLAGS_FILE = path.join(__dirname, '..', '..', 'config', 'feature-flags.yaml');

function getAllFeatureStatuses() {
  const flags = {};
  let inFeatures = false;
  let current = null;
  for (const line of fs.readFileSync(FLAGS_FILE, 'utf8').split('\\n')) {
    if (/^\\S/.test(line) && !line.startsWith('#')) {
      inFeatures = line.startsWith('features:');
      current = null;
      continue;
    }
    const key = /^  ([A-Za-z0-9_]+):\\s*$/.exec(line);
    if (inFeatures && key) current = key[1];
    const enabled = /^    enabled:\\s*(true|false)/.exec(line);
    if (inFeatures && current && enabled) flags[current] = enabled[1] === 'true';
  }
  return flags;
}

function isFeatureEnabled(name) {
  return getAllFeatureStatuses()[name] === true;
}

module.exports = { getAllFeatureStatuses, isFeatureEnabled };
`;

const SECURITY_LOGGER_JS = `/**
 * Security event log (base project). Story 1.3 added the analytics events; the logger itself is the base's.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

let LOG_DIR = path.join(__dirname, '..', '..', 'logs');

const SecurityEvents = {
  FEATURE_TOGGLED: 'feature_toggled',
  AUTH_FAILURE: 'auth_failure',
  ANALYTICS_QUERY: 'analytics_query',
  DATA_LOAD: 'data_load',
  TABLE_DROP: 'table_drop',
};

function configureLogPaths(dir) {
  LOG_DIR = dir;
}

function logSecurityEvent(event, details) {
  const line = JSON.stringify({ timestamp: new Date().toISOString(), event, details });
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.appendFileSync(path.join(LOG_DIR, 'security.log'), line + '\\n');
}

module.exports = { SecurityEvents, configureLogPaths, logSecurityEvent };
`;

const PACKAGE_JSON = `${JSON.stringify(
  {
    name: 'bmad-method',
    version: '4.31.0',
    private: true,
    description: 'BMad Method with the Data Practitioner expansion pack',
    main: 'tools/cli.js',
    bin: { bmad: 'tools/cli.js' },
    scripts: {
      test: 'jest',
      prepare: 'echo ready',
      'setup:python': 'node tools/cli.js setup-python',
      'data:service': 'node tools/cli.js start-data-service -p 3001',
      'data:connectors': 'node tools/cli.js data-connectors',
      'analytics:service': 'node tools/cli.js start-analytics-service',
      'build:evidence': 'node tools/builders/evidence-builder.js',
      'evidence:dev': 'cd expansion-packs/bmad-data-practitioner/evidence-project && npx @evidence-dev/evidence dev',
      'evidence:build': 'cd expansion-packs/bmad-data-practitioner/evidence-project && npx @evidence-dev/evidence build',
    },
    dependencies: {
      '@evidence-dev/evidence': '^25.0.0',
      commander: '^14.0.0',
      duckdb: '^1.3.2',
      express: '^4.18.2',
      'fs-extra': '^10.1.0',
      'js-yaml': '^4.1.0',
      multer: '^1.4.5-lts.1',
    },
    devDependencies: { jest: '^29.7.0', supertest: '^6.3.4' },
  },
  null,
  2,
)}\n`;

/** A small lock: enough for a tool that reads or rewrites it to have real structure to keep. */
const PACKAGE_LOCK_JSON = `${JSON.stringify(
  {
    name: 'bmad-method',
    version: '4.31.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': {
        name: 'bmad-method',
        version: '4.31.0',
        dependencies: { express: '^4.18.2', 'fs-extra': '^10.1.0', duckdb: '^1.3.2' },
        devDependencies: { jest: '^29.7.0', supertest: '^6.3.4' },
      },
      'node_modules/express': { version: '4.21.2', resolved: 'https://registry.npmjs.org/express/-/express-4.21.2.tgz', license: 'MIT' },
      'node_modules/fs-extra': { version: '10.1.0', resolved: 'https://registry.npmjs.org/fs-extra/-/fs-extra-10.1.0.tgz', license: 'MIT' },
      'node_modules/duckdb': { version: '1.3.2', resolved: 'https://registry.npmjs.org/duckdb/-/duckdb-1.3.2.tgz', license: 'MIT', hasInstallScript: true },
      'node_modules/supertest': { version: '6.3.4', dev: true, license: 'MIT' },
    },
  },
  null,
  2,
)}\n`;

const GITIGNORE = `node_modules/
.env
logs/*.log
coverage/

# Python virtual environment
.venv/
__pycache__/
*.pyc
.cache/
`;

/**
 * Every base file, relative path to content. Tests check these survive a rollback byte for byte.
 * `config/feature-flags.yaml` and `.env` are base files too, but built from the installed stories.
 */
export const BASE_FILES: Readonly<Record<string, string>> = {
  'package.json': PACKAGE_JSON,
  'package-lock.json': PACKAGE_LOCK_JSON,
  [BASE_CLI]: CLI_JS,
  'tools/lib/security-logger.js': SECURITY_LOGGER_JS,
  'tools/lib/feature-flag-manager.js': FEATURE_FLAG_MANAGER_JS,
  'bmad-core/core-config.yaml': `# Core configuration of the BMad Method: edited by people, keep the comments.
markdownExploder: true
devStoryLocation: docs/stories
expansionPacks:
  - bmad-data-practitioner
`,
  'config/external-services.yaml': `# External services the project talks to (base project)
services:
  postgres:
    url_env: DATABASE_URL
  telemetry:
    enabled: false
`,
  'expansion-packs/bmad-data-practitioner/README.md': `# BMad Data Practitioner

The expansion pack for data work: ingestion, analytics, transformation, orchestration, analysis and
publication. Stories 1.2 to 1.8 install its parts.
`,
  'expansion-packs/bmad-data-practitioner/dagster-project/__init__.py': `"""Dagster project of the Data Practitioner pack (shared by stories 1.5, 1.6 and 1.7)."""\n`,
  'logs/security.log': `${JSON.stringify({ timestamp: '2025-08-28T09:26:56.587Z', event: 'feature_toggled', details: { feature: 'pyairbyte_integration', enabled: true } })}\n`,
  'README.md': `# BMad Method

Project with the BMad Data Practitioner pack installed (sandbox).
`,
  '.gitignore': GITIGNORE,
  'jest.config.js': `module.exports = {
  testEnvironment: 'node',
  setupFilesAfterEnv: ['<rootDir>/tests/setup.js'],
};
`,
  'tests/setup.js': `// Shared jest setup of the base project.
process.env.NODE_ENV = 'test';
`,
};
