/** Fixed layout of a project, relative to its root (the pack's layout). */
export const LAYOUT = {
  flags: 'config/feature-flags.yaml',
  config: 'config/rollback.yaml',
  backups: 'rollback_backups',
  reports: 'rollback_reports',
  state: '.rollback-manager',
} as const;
