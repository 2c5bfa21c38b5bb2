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
    if (k.note) console.log(`         note: ${k.note.length > 150 ? `${k.note.slice(0, 147)}...` : k.note}`);
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
  console.log('\n  trend report:');
  console.log(JSON.stringify(res.report, null, 2).split('\n').map((l) => `    ${l}`).join('\n'));
}

/** Prints a drift report as the human plan. */
export function printDrift(report: DriftReport): void {
  console.log(renderPlanText(report).split('\n').map((l) => `  ${l}`).join('\n'));
}
