import { fmtBytes, oneLine } from '../util/format.js';
import type { Plan, StoryPlan } from '../model/types.js';
import { stepFor } from '../steps/registry.js';

/** The plan as a person reads it before saying yes: every step with files and bytes, flags, processes. */
export function renderPlan(plan: Plan, opts: { verbose: boolean; dryRun: boolean }): string {
  const out: string[] = [];
  out.push(`${opts.dryRun ? 'DRY RUN — nothing will be changed. ' : ''}Plan ${plan.runId} for ${plan.root}`);
  if (plan.reason) out.push(`Reason: ${oneLine(plan.reason)}`);
  out.push(`Order: ${plan.stories.map((s) => s.id).join(' -> ') || '(nothing)'}`);
  out.push(`Backups need about ${fmtBytes(plan.disk.needed)}; ${fmtBytes(plan.disk.available)} free.`);
  for (const s of plan.stories) out.push('', ...renderStory(s, opts.verbose));
  // Story warnings stand under their story above; only the run's own (disk, skipped backups) come here.
  const own = plan.warnings.filter((w) => !plan.stories.some((s) => w.startsWith(`${s.id}: `)));
  const count = plan.stories.reduce((n, s) => n + s.warnings.length, 0);
  if (own.length > 0 || count > 0) out.push('', `Warnings: ${count} under the stories above${own.length > 0 ? ', and:' : '.'}`, ...own.map((w) => `  ! ${w}`));
  return `${out.join('\n')}\n`;
}

function renderStory(s: StoryPlan, verbose: boolean): string[] {
  const head = `Story ${s.id} ${s.feature} — ${s.title} (${s.why})`;
  if (!s.installed) return [head, '  not installed: nothing to do'];
  const out = [head, `  footprint present: ${s.presence.present} of ${s.presence.declared} declared paths`];
  let n = 1;
  // Each step renders its own lines: a heading, numbered here, and detail indented under it.
  for (const a of s.actions) {
    const [heading, ...detail] = stepFor(a).render(a, { verbose });
    if (heading === undefined) continue;
    out.push(`  ${n++}. ${heading}`, ...detail.map((d) => `       ${d}`));
  }
  for (const w of s.warnings) out.push(`  ! ${w}`);
  return out;
}
