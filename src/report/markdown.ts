import type { RunReport } from './run-report.js';
import { fmtBytes, mdCode, mdInline, shellQuote } from '../util/format.js';
import type { PlannedStep } from '../model/types.js';
import { stepFor } from '../steps/registry.js';
import type { StepRecord } from '../engine/executor.js';
import { renderMonitorWhy } from './monitor-why.js';

/** The report a person reads afterwards: what was done, why, on what evidence, and how to undo it. */
export function renderMarkdown(r: RunReport): string {
  const out: string[] = [];
  out.push(`# ${r.operation === 'rollback' ? 'Rollback' : 'Restore'} ${r.runId}: ${r.status}`, '');
  out.push(`- **Stories:** ${r.stories.map((s) => `${s.id} (${s.feature}) ${s.status}`).join(', ') || 'none'}`);
  out.push(`- **Why:** ${r.why.reason ? mdInline(r.why.reason) : '(no reason given)'} — trigger: ${r.why.trigger}`);
  out.push(`- **Who:** ${r.who.user}@${r.who.host} (pid ${r.who.pid})`);
  out.push(`- **When:** ${r.when.startedAt} → ${r.when.finishedAt} (${(r.when.durationMs / 1000).toFixed(2)} s)`);
  out.push(`- **Root:** \`${r.root}\``);
  out.push(`- **Command:** ${mdCode(`rollback-manager ${r.command.map(shellQuote).join(' ')}`)}`);
  out.push(`- **Exit code:** ${r.exitCode}`);
  if (r.plan.plugins && r.plan.plugins.length > 0) out.push(`- **Plugins:** ${r.plan.plugins.map((p) => `\`${p.file}\` (sha256 ${p.sha256.slice(0, 12)}…)`).join(', ')}`);
  if (r.keptData?.length) {
    const stories = [...new Set(r.keptData.map((k) => k.story))];
    out.push(`- **Data kept in place:** ${r.keptData.length} path(s) of ${stories.join(', ')}, backed up and not removed (listed under each story; \`rollback ${stories.join(',')} --purge-data\` removes them)`);
  }
  out.push('');
  if (r.recovery) {
    out.push('## Interrupted, then ' + (r.recovery.mode === 'resume' ? 'resumed' : 'aborted'), '');
    out.push(
      `The run ${mdCode(`rollback-manager ${r.recovery.originalCommand.map(shellQuote).join(' ')}`)} stopped after: ${r.recovery.interruptedAfter} (its journal has every step).`,
      r.recovery.mode === 'resume'
        ? 'This run finished it from its journal: steps done before are marked so, the step cut short was completed (or undone and done again), the rest ran as planned.'
        : 'This run undid it from its journal, in reverse order: finished steps were reverted, the step cut short was undone as far as it had got.',
      '',
    );
    for (const c of r.recovery.pluginsChanged ?? []) {
      out.push(`- **Plugin changed since the interruption, run anyway (--force):** \`${c.file}\` sha256 ${c.was.slice(0, 12)}… → ${c.now === null ? 'gone' : `${c.now.slice(0, 12)}…`}`);
    }
    if ((r.recovery.pluginsChanged ?? []).length > 0) out.push('');
  }
  if (r.monitor) out.push(...renderMonitorWhy(r.monitor));
  const stuck = r.stories.filter((s) => s.status === 'revert-failed');
  if (stuck.length > 0) {
    out.push('## Action needed', '');
    for (const s of stuck) {
      out.push(
        `- Story ${s.id} failed and could not be put back by itself: ${s.error ?? 'see the steps below'}.`,
        `  Nothing is lost: ${s.backup ? `every removed file is in the verified backup \`${s.backup.path}/\`` : 'no file was removed'}. ` +
          'Fix the cause named above, then run the command under "How to undo" (or `rollback-manager verify` first).',
      );
    }
    out.push('');
  }
  if (r.undo.length > 0) {
    out.push('## How to undo', '', r.undo.length > 1 ? 'Run these in this order:' : 'Run:', '');
    for (const u of r.undo) out.push(`- ${u.story}: \`${u.command}\``);
    out.push('');
  }
  if (r.warnings.length > 0) {
    out.push('## Warnings', '');
    for (const w of r.warnings) out.push(`- ${w}`);
    out.push('');
  }
  for (const s of r.stories) {
    const plan = r.plan.stories.find((p) => p.id === s.id);
    out.push(`## Story ${s.id} — ${plan?.title ?? s.feature}: ${s.status}`, '');
    out.push(`Why in this run: ${s.why}.${plan ? ` Footprint present: ${plan.presence.present} of ${plan.presence.declared} declared paths.` : ''}`, '');
    if (s.error) out.push(`**Error:** ${s.error}`, '');
    if (s.backup) {
      out.push(`**Backup:** \`${s.backup.path}/\` — ${s.backup.files} files, ${fmtBytes(s.backup.bytes)}, ${s.backup.verified ? 're-read and every file checked against its sha256' : 'NOT verified'}`, '');
    }
    if (s.steps.length > 0) {
      out.push('| step | outcome | time | detail |', '| --- | --- | --- | --- |');
      for (const st of s.steps) {
        const detail = [st.description, st.note ?? '', st.error ? `error: ${st.error}` : '', st.revertNote ? `undo: ${st.revertNote}` : ''].filter(Boolean).join(' — ');
        out.push(`| ${st.kind} | ${st.status} | ${st.durationMs} ms | ${cell(detail)} |`);
      }
      out.push('');
    }
    if (plan) out.push(...evidence(plan.actions, s.steps));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/**
 * What each step did, in plan order, as the step itself reports it — only for steps that ran to their end:
 * a step that was skipped, never reached (an interrupted run's later stories) or failed did none of what its
 * plan says, so its section would describe work never done. One undone since says so under its section.
 * A step's record is found by step index (by kind in reports written before records carried it).
 */
function evidence(actions: PlannedStep[], steps: StepRecord[]): string[] {
  return actions.flatMap((a, i) => {
    const record = steps.find((x) => (x.step === undefined ? x.kind === a.kind : x.step === i) && x.status !== 'failed' && x.status !== 'skipped');
    if (!record) return [];
    const section = stepFor(a).report?.(a, record.result) ?? [];
    if (section.length === 0 || record.status === 'done') return section;
    const undone = record.status === 'reverted' ? `Undone since${record.revertNote ? `: ${record.revertNote}` : '.'}` : `Its undo failed: ${record.revertNote ?? 'see above'}`;
    const body = section.at(-1) === '' ? section.slice(0, -1) : section;
    return [...body, `_${mdInline(undone)}_`, ''];
  });
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
