import { statSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../project/project.js';

/** The folder of the pack's documented entry points, relative to the root. */
export const TOOLS_DIR = 'tools/rollback';

/** A story's wrapper script, relative to the root: `tools/rollback/rollback-story-<id>.sh`. */
export function storyScript(id: string): string {
  return `${TOOLS_DIR}/rollback-story-${id}.sh`;
}

/** One story as the pack's `getRollbackStatus()` reports it. */
export interface PackStoryStatus {
  /** Its wrapper `tools/rollback/rollback-story-<id>.sh` is there. */
  scriptExists: boolean;
  feature: string;
  /** Its flag as `config/feature-flags.yaml` writes it (false when the file has no such flag). */
  featureEnabled: boolean;
}

/**
 * Every story of the project's registry, by id, in the shape the pack's own code reads
 * (`tests/security/validate-security.js`): whether its script is there, its flag and the flag's value.
 */
export function packStatusOf(project: Project): Record<string, PackStoryStatus> {
  const out: Record<string, PackStoryStatus> = {};
  for (const s of project.registry.stories) {
    out[s.id] = {
      scriptExists: isFile(path.join(project.root, storyScript(s.id))),
      feature: s.feature,
      featureEnabled: project.flags.features.get(s.feature)?.enabled === true,
    };
  }
  return out;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
