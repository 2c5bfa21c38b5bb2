/**
 * The human form of a report, like `terraform plan` / `kubectl diff`: a header naming the desired-state file
 * and the live cluster ARN, one block per resource that is not in sync (`+` create, `~` update, `!` cannot or
 * may not be corrected, `?` not fully observable), each field as `live → desired`, then a summary line. For an apply, the writes are
 * listed with their outcome. Colour only when asked (the CLI asks when stdout is a TTY). Pure.
 */
import type { AuditRecord, Drift, DriftAction, DriftReport } from '../types.ts';

/** Options of {@link renderPlanText}. */
export interface PlanTextOptions {
  /** ANSI colours. @defaultValue false */
  color: boolean;
}

const MARK: Readonly<Record<DriftAction, string>> = { create: '+', update: '~', none: '!' };
const COLOUR: Readonly<Record<DriftAction, string>> = { create: '\u001b[32m', update: '\u001b[33m', none: '\u001b[31m' };
const RESET = '\u001b[0m';

function show(v: unknown): string {
  return v === undefined || v === null ? '(none)' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The strongest action of a resource's drift: create > update > none. */
function resourceAction(drifts: readonly Drift[]): DriftAction {
  if (drifts.some((d) => d.action === 'create')) return 'create';
  if (drifts.some((d) => d.action === 'update')) return 'update';
  return 'none';
}

function auditLine(a: AuditRecord): string {
  const what = `${a.resource} ${a.field}: ${show(a.before)} → ${show(a.after)}`;
  return `  ${a.outcome.padEnd(8)} ${a.operation.padEnd(22)} ${what}${a.error ? `  (${a.error})` : ''}`;
}

/** Renders the report for a person. */
export function renderPlanText(report: DriftReport, options: Partial<PlanTextOptions> = {}): string {
  const color = options.color ?? false;
  const paint = (action: DriftAction, s: string): string => (color ? `${COLOUR[action]}${s}${RESET}` : s);
  const m = report.metadata;
  const lines: string[] = [];
  const flags = [`mode ${m.mode}`, ...(m.dryRun ? ['dry run'] : [])].join(', ');
  lines.push(`Desired state: ${m.source} (${m.app}/${m.environment}, ${flags})`);
  lines.push(`Cluster:       ${m.clusterArn ?? `${m.cluster} (ARN unknown: no service found)`}`);
  lines.push('');
  const notSynced = report.resources.filter((r) => r.status !== 'Synced' || (report.metadata.intent === 'plan' && r.drifts.length > 0));
  for (const r of notSynced) {
    const action = r.status === 'Error' ? 'none' : resourceAction(r.drifts);
    const mark = r.status === 'Unsupported' ? '?' : MARK[action];
    const head = `${mark} ${r.resource}${r.liveId ? `  (${r.liveId})` : ''}`;
    lines.push(`  ${r.status === 'Unsupported' ? head : paint(action, head)}`);
    if (r.status === 'Error' || r.status === 'Unsupported' || r.drifts.length === 0) {
      for (const reason of r.reasons) lines.push(`      ${reason}`);
    }
    for (const d of r.drifts) {
      lines.push(`      ${paint(d.action, MARK[d.action])} ${d.field}: ${show(d.actual)} → ${show(d.desired)}   # ${d.path}`);
      if (d.action === 'none') lines.push(`          ${d.reason}`);
    }
    lines.push('');
  }
  if (m.intent === 'apply' && report.audit.length > 0) {
    lines.push('Writes:');
    for (const a of report.audit) lines.push(auditLine(a));
    lines.push('');
  }
  for (const e of report.errors.filter((e) => !e.resource)) lines.push(`Error: ${e.message}`);
  const s = report.summary;
  const partly = s.unsupported > 0 ? ` ${s.unsupported} not fully observable (unsupported by endpoint).` : '';
  if (s.drifts === 0 && s.errors === 0) lines.push(`No drift: ${s.synced} resource${s.synced === 1 ? '' : 's'} in sync.${partly}`);
  else {
    const w = s.writes;
    const done = m.intent === 'apply' ? ` Writes: ${w.applied} applied, ${w.failed} failed, ${w['dry-run']} dry-run, ${w.deferred} deferred.` : '';
    lines.push(`Plan: ${s.toCreate} to create, ${s.toUpdate} to update, ${s.unmanageable} not correctable here.${done}`);
    lines.push(`Resources: ${s.synced} synced, ${s.drifted} drifted, ${s.errors} error${s.errors === 1 ? '' : 's'}${s.unsupported ? `, ${s.unsupported} unsupported by endpoint` : ''}${s.ignored ? `; ${s.ignored} drift item${s.ignored === 1 ? '' : 's'} ignored` : ''}.`);
  }
  return `${lines.join('\n')}\n`;
}
