import type { StoryPlugin } from '../model/plugin-types.js';

/**
 * Story 1.7: Publication Platform - Evidence.dev Integration.
 * Footprint as the pack really shipped it (ajdoyl2/data-practitioner-agent-system@140000bc5e80b0bd95bcb2222c2183cf857e2e80, subtree bmad-method/).
 */
export default {
  id: '1.7',
  feature: 'evidence_publishing',
  title: "Publication Platform - Evidence.dev Integration",
  dependsOn: ["1.3","1.4"],
  code: [
    "tools/data-services/publication-engine.js",
    "tools/data-services/narrative-coordinator.js",
    "tools/builders/evidence-builder.js",
    "expansion-packs/bmad-data-practitioner/templates/branding-engine.js",
    "expansion-packs/bmad-data-practitioner/templates/dynamic-page-generator.js",
    "expansion-packs/bmad-data-practitioner/dagster-project/monitoring/__init__.py",
    "expansion-packs/bmad-data-practitioner/dagster-project/monitoring/publication_monitoring.py",
    "expansion-packs/bmad-data-practitioner/evidence-project/evidence.config.js",
    "expansion-packs/bmad-data-practitioner/evidence-project/deploy.sh",
    "expansion-packs/bmad-data-practitioner/evidence-project/middleware/auth.js",
    "expansion-packs/bmad-data-practitioner/evidence-project/utils/cdn-integration.js",
    "expansion-packs/bmad-data-practitioner/evidence-project/utils/performance-optimizer.js",
    "expansion-packs/bmad-data-practitioner/evidence-project/static/custom-styles.css",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/AnomalyDetectionPlot.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/ChartCustomization.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/CorrelationMatrix.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/D3VisualizationFrame.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/HypothesisTestChart.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/InteractiveDashboard.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/ObservableNotebook.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/ResponsiveDataTable.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/StatisticalDashboard.svelte",
    "expansion-packs/bmad-data-practitioner/evidence-project/components/VisualizationTemplates.js",
    "expansion-packs/bmad-data-practitioner/evidence-project/.evidence/",
  ],
  config: [
    "expansion-packs/bmad-data-practitioner/evidence-project/evidence.config.yaml",
    "expansion-packs/bmad-data-practitioner/evidence-project/evidence.plugins.yaml",
    "expansion-packs/bmad-data-practitioner/evidence-project/package.json",
    "expansion-packs/bmad-data-practitioner/evidence-project/package-lock.json",
    "expansion-packs/bmad-data-practitioner/evidence-project/.evidence.env.template",
    "expansion-packs/bmad-data-practitioner/evidence-project/sources/duckdb/connection.yaml",
    "expansion-packs/bmad-data-practitioner/templates/branding-customization.yaml",
    "expansion-packs/bmad-data-practitioner/templates/page-generation-config.yaml",
  ],
  tests: [
    "tests/data-services/task-6-static-site-generation.test.js",
    "tests/data-services/task-7-visualization-components.test.js",
    "tests/integration/story-1.7-integration-validation.test.js",
    "expansion-packs/bmad-data-practitioner/evidence-project/test-publication-engine.cjs",
  ],
  docs: [
    "story-1.7-dod-checklist-results.md",
    "expansion-packs/bmad-data-practitioner/evidence-project/docs/duckdb-evidence-optimization-guide.md",
    "expansion-packs/bmad-data-practitioner/narrative-generation/analyst-narrative-workflows.md",
    "expansion-packs/bmad-data-practitioner/narrative-generation/narrative-generation-guide.md",
    "expansion-packs/bmad-data-practitioner/narrative-generation/pew-research-style-guide.md",
    "expansion-packs/bmad-data-practitioner/narrative-generation/quality-validation-workflows.md",
    "expansion-packs/bmad-data-practitioner/narrative-generation/statistical-explanation-templates.md",
    "expansion-packs/bmad-data-practitioner/narrative-generation/story-1-6-integration-guide.md",
    "expansion-packs/bmad-data-practitioner/templates/insight-document.md",
    "expansion-packs/bmad-data-practitioner/templates/pew-research-style.md",
    "expansion-packs/bmad-data-practitioner/templates/executive-briefing.md",
    "expansion-packs/bmad-data-practitioner/templates/template-workflow-guide.md",
    "expansion-packs/bmad-data-practitioner/templates/bmad-elicitation-workflow.md",
  ],
  // Kept or removed, after the pack's rollback guide ("backs up published reports; preserves deployment
  // configurations; maintains publication history"): pages/ holds the publications (the engine writes each into it,
  // people edit them), kept as the publication history; .evidence.env is the deployment configuration (settings and
  // secrets copied from the template by hand, which nothing in the pack can recreate), kept. The sample database
  // and the source queries ship with the story, and evidence-project/expansion-packs/ is an accidental copy of
  // pages/: removed, after the backup. The built site (build/, the published reports) is a build, removed.
  data: [
    "expansion-packs/bmad-data-practitioner/evidence-project/.duckdb/analytics.db",
    "expansion-packs/bmad-data-practitioner/evidence-project/sources/duckdb/sample_data.sql",
    "expansion-packs/bmad-data-practitioner/evidence-project/sources/duckdb/enhanced_analytical_data.sql",
    { path: "expansion-packs/bmad-data-practitioner/evidence-project/pages/", keep: true, why: "the publications: the publication history the guide maintains" },
    "expansion-packs/bmad-data-practitioner/evidence-project/expansion-packs/",
    { path: "expansion-packs/bmad-data-practitioner/evidence-project/.evidence.env", keep: true, why: "the deployment configuration the guide preserves (settings and secrets set by hand)" },
  ],
  caches: [
    "expansion-packs/bmad-data-practitioner/evidence-project/build/",
    "expansion-packs/bmad-data-practitioner/evidence-project/node_modules/",
    "expansion-packs/bmad-data-practitioner/evidence-project/.duckdb/temp/",
  ],
  npm: ["@evidence-dev/evidence"],
  python: [],
  services: [
    { name: "evidence dev server", argv: ["evidence","dev"], port: 3000, start: "npm run evidence:dev" },
    { name: "npm run evidence:dev", argv: ["npm","run","evidence:dev"], start: "npm run evidence:dev" },
  ],
  envPrefixes: ["EVIDENCE_","PUBLICATION_ALERT_","CDN_","BASIC_AUTH_","OAUTH_","IP_ALLOWLIST","DEPLOYMENT_TYPE","STATIC_PLATFORM","AWS_S3_BUCKET","AWS_CLOUDFRONT_DISTRIBUTION_ID"],
  sharedEdits: [
    { file: "package.json", what: "Commit 0f1730a. Added the scripts build:evidence ('node tools/builders/evidence-builder.js'), evidence:dev and evidence:build ('cd expansion-packs/bmad-data-practitioner/evidence-project && npx @evidence-dev/evidence dev|build'), and dependency @evidence-dev/evidence ^25.0.0" },
    { file: "expansion-packs/bmad-data-practitioner/dagster-project/assets/publication_assets.py", owner: '1.5', what: "Commit 296a065. Replaced the 1.5 placeholder with the Evidence assets evidence_publication_generation, evidence_publication_deployment, publication_monitoring, publication_versioning and publication_dependency_tracking" },
    { file: "expansion-packs/bmad-data-practitioner/dagster-project/jobs/data_pipeline_jobs.py", owner: '1.5', what: "Commit 296a065. Added publication_generation_job, publication_deployment_job, full_publication_workflow_job, publication_monitoring_job and data_driven_publication_refresh_job" },
    { file: "expansion-packs/bmad-data-practitioner/dagster-project/schedules/daily_data_refresh.py", owner: '1.5', what: "Commit 296a065. Added daily_publication_refresh_schedule (04:00 UTC) and weekly_publication_deployment_schedule (Mon 06:00 UTC)" },
    { file: "expansion-packs/bmad-data-practitioner/dagster-project/sensors/data_source_sensor.py", owner: '1.5', what: "Commit 296a065. Added publication_refresh_sensor" },
  ],
  notes: "evidence-project/.evidence.env holds deploy secrets: it is backed up like everything else. .evidence/ is generated scaffolding (about 10 MB).",
} satisfies StoryPlugin;
