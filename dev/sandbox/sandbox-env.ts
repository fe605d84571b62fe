/**
 * The sandbox's `.env`: the base project's lines with each installed story's variables interleaved, the
 * way several installs appending to one file leave it. A rollback must strip exactly the story's lines.
 */
import type { Story } from '../../src/model/types.js';

/** Lines of `.env` no story owns; no name here starts with a built-in story's prefix. */
export const BASE_ENV_LINES: readonly string[] = [
  '# Local development settings',
  'NODE_ENV=development',
  'DATABASE_URL=postgres://localhost/app',
  'LOG_LEVEL=info',
  '# Cloud (base project)',
  'AWS_REGION=eu-west-1',
  'PORT=3000',
  '# Secrets are placeholders in development',
  'SESSION_SECRET=dev-only-not-a-secret',
];

/** Plausible variables for the built-in stories' prefixes. */
const KNOWN: Record<string, string> = {
  PYAIRBYTE_: 'PYAIRBYTE_CACHE_DIR=.cache/pyairbyte',
  PYPI_: 'PYPI_INDEX_URL=https://pypi.org/simple',
  DUCKDB_: 'DUCKDB_MEMORY_LIMIT=4GB',
  ANALYTICS_DATABASE_URL: 'ANALYTICS_DATABASE_URL=.duckdb/analytics.db',
  DBT_: 'DBT_PROFILES_DIR=bmad-data-practitioner/dbt-project',
  DAGSTER_: 'DAGSTER_HOME=expansion-packs/bmad-data-practitioner/dagster-project',
  ORCHESTRATOR_PORT: 'ORCHESTRATOR_PORT=3003',
  LINEAGE_WEB_PORT: 'LINEAGE_WEB_PORT=5000',
  SKIP_SUNDAY_REFRESH: 'SKIP_SUNDAY_REFRESH=false',
  MAINTENANCE_HOUR_: 'MAINTENANCE_HOUR_UTC=3',
  DATA_SOURCE_API_KEY: 'DATA_SOURCE_API_KEY=sandbox-key',
  EDA_: 'EDA_REPORT_DIR=.cache/eda-reports',
  EVIDENCE_: 'EVIDENCE_BUILD_DIR=expansion-packs/bmad-data-practitioner/evidence-project/build',
  PUBLICATION_ALERT_: 'PUBLICATION_ALERT_EMAIL=analytics@example.com',
  CDN_: 'CDN_PROVIDER=cloudfront',
  BASIC_AUTH_: 'BASIC_AUTH_USER=analyst',
  OAUTH_: 'OAUTH_CLIENT_ID=sandbox-client',
  IP_ALLOWLIST: 'IP_ALLOWLIST=10.0.0.0/8',
  DEPLOYMENT_TYPE: 'DEPLOYMENT_TYPE=static',
  STATIC_PLATFORM: 'STATIC_PLATFORM=netlify',
  AWS_S3_BUCKET: 'AWS_S3_BUCKET=analytics-site',
  AWS_CLOUDFRONT_DISTRIBUTION_ID: 'AWS_CLOUDFRONT_DISTRIBUTION_ID=E2SANDBOX',
  QA_: 'QA_REPORT_DIR=reports',
  MONITORING_ENDPOINT: 'MONITORING_ENDPOINT=http://localhost:9090',
};

/** One line per env prefix of `story`, in the story's order. */
export function storyEnvLines(story: Story): string[] {
  return story.envPrefixes.map((prefix) => KNOWN[prefix] ?? (prefix.endsWith('_') ? `${prefix}SETTING=sandbox` : `${prefix}=sandbox`));
}

/** The `.env` text: base line, story block, base line, story block, … then the remaining base lines. */
export function envFileText(stories: readonly Story[]): string {
  const out: string[] = [];
  const base = [...BASE_ENV_LINES];
  for (const story of stories) {
    const next = base.shift();
    if (next !== undefined) out.push(next);
    out.push(...storyEnvLines(story));
  }
  out.push(...base);
  return `${out.join('\n')}\n`;
}
