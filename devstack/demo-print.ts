/** How the demo prints what it saw: an analysis result and a drift report. */
import type { AnalysisRecord } from '../services/analyses/types.ts';
import type { DriftReport } from '../controller/types.ts';
import { renderPlanText } from '../controller/report/plan-text.ts';

/** Prints a section heading. */
export function section(title: string): void {
  console.log(`\n== ${title}`);
}

/** Prints the keyframes, blob names, model calls with tokens and cost, and the trend report of an analysis. */
export function printAnalysis(r: AnalysisRecord): void {
  const res = r.result;
  if (!res) return;
  const v = res.video;
  console.log(`  video: ${v.container} ${v.codec} ${v.width}x${v.height}, ${v.durationSec.toFixed(2)} s, ${v.bytes} bytes${v.hasAudio ? ', with audio' : ''}`);
  console.log(`\n  keyframes (${res.keyframes.length}):`);
  for (const k of res.keyframes) {
    console.log(`    #${k.index}  t=${k.timestampSec.toFixed(3)} s  ${k.width}x${k.height}  ${k.bytes} B  blob keyframes/${k.blobName}`);
    if (k.note) console.log(`         note: ${clip(k.note.replace(/\s+/g, ' '), 150)}`);
  }
  console.log(`\n  model calls (${res.modelCalls.length}):`);
  let pt = 0;
  let ct = 0;
  for (const c of res.modelCalls) {
    pt += c.promptTokens;
    ct += c.completionTokens;
    console.log(`    ${c.task.padEnd(6)} ${c.model.padEnd(30)} prompt ${String(c.promptTokens).padStart(5)}  completion ${String(c.completionTokens).padStart(5)} tokens  $${c.costUsd.toFixed(6)}  ${c.durationMs} ms${c.cached ? '  (cache hit)' : ''}`);
  }
  console.log(`    total  ${pt} prompt + ${ct} completion tokens, $${res.totalCostUsd.toFixed(6)}`);
  const timings = Object.entries(res.timingsMs).map(([k, ms]) => `${k} ${ms} ms`).join(', ');
  console.log(`\n  timings: ${timings}`);
  console.log('\n  trend report (schemas/trend-report.schema.json):');
  printReport(res.report);
}

function clip(text: unknown, max = 110): string {
  const t = String(text ?? '');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function list(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null) as Record<string, unknown>[]) : [];
}

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}

/** Prints the trend report field by field, long texts clipped. */
function printReport(report: Record<string, unknown>): void {
  console.log(`    summary:    ${clip(report.summary)}`);
  console.log(`    topics:     ${list(report.topics).map((t) => `${String(t.label)} (${Number(t.confidence).toFixed(2)})`).join(', ')}`);
  for (const h of list(report.hooks)) console.log(`    hook:       t=${Number(h.timestampSec).toFixed(1)} s ${clip(h.description, 90)}`);
  const style = report.visualStyle;
  const tags = field(style, 'tags');
  console.log(`    style:      ${clip(field(style, 'description'), 80)}${Array.isArray(tags) ? ` [${tags.join(', ')}]` : ''}`);
  console.log(`    pacing:     ${String(field(report.pacing, 'label'))}`);
  console.log(`    sentiment:  ${String(field(report.sentiment, 'label'))} (${String(field(report.sentiment, 'score'))})`);
  const virality = report.viralityScore;
  console.log(`    virality:   ${String(field(virality, 'score'))}/100`);
  const reasons = field(virality, 'reasons');
  if (Array.isArray(reasons)) for (const r of reasons) console.log(`      - ${clip(r, 100)}`);
  console.log(`    keyframe notes: ${list(report.keyframeNotes).length}`);
}

/**
 * Prints the AI coordinator's calls by outcome, cache lookups by result and USD by model from the worker's Prometheus
 * exposition (`exposition`, scraped from `url`).
 */
export function printAiMetrics(url: string, exposition: string): void {
  console.log(`  worker metrics (${url}), AI coordinator:`);
  for (const line of exposition.split('\n')) {
    if (/^ai_(calls_total|cache_lookups_total|cost_usd_total)\{/.test(line)) console.log(`    ${line}`);
  }
}

/** Prints the drift a pass detected, then the report as the human plan (with its writes). */
export function printDrift(report: DriftReport): void {
  const drifts = report.resources.flatMap((r) => r.drifts);
  console.log(`  pass ${report.metadata.passId} detected ${drifts.length} drift item(s) and corrected them in the same pass:`);
  for (const d of drifts) console.log(`    ~ ${d.resource} ${d.field}: live ${JSON.stringify(d.actual)}, desired ${JSON.stringify(d.desired)} (${d.action}: ${d.reason})`);
  console.log('');
  console.log(renderPlanText(report).split('\n').map((l) => `  ${l}`).join('\n'));
}
