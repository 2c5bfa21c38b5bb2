/**
 * Trends of a tenant (`GET /v1/trends`): aggregates over the trend reports of its succeeded analyses created in a
 * time window ending now. Report fields read (schemas/trend-report.schema.json): `topics[].label`,
 * `topics[].confidence`, `hooks[].description`, `hooks[].timestampSec`, `viralityScore.score` (0–100).
 *
 * - topics and hooks are grouped by a normalised key (lower case, punctuation dropped, spaces collapsed), shown with
 *   the spelling met first; each counts once per analysis however often a report repeats it;
 * - ranking: analyses that mention it (desc), then their mean virality score (desc), then the label;
 * - at most {@link MAX_TREND_ANALYSES} analyses are read per request, newest first (each record is a few KB of
 *   JSON); when the window holds more, `sampled` is true and the figures describe the newest ones.
 * Reports that do not have the expected shape are skipped field by field, never trusted blindly.
 */
import type { AnalysisStore } from '../../analyses/store.ts';
import type { AnalysisRecord } from '../../analyses/types.ts';
import { ValidationError } from '../../platform/errors.ts';
import type { Principal } from '../auth/principal.ts';

/** Analyses read per request at most. */
export const MAX_TREND_ANALYSES = 2000;
/** Longest window, hours (90 days). */
export const MAX_WINDOW_HOURS = 90 * 24;
/** Default window. */
export const DEFAULT_WINDOW = '7d';
/** Default number of topics and hooks returned. */
export const DEFAULT_TOP = 10;

/** Validated query of `GET /v1/trends`. */
export interface TrendsQuery {
  /** `<n>h` or `<n>d`, up to 90 days. @defaultValue '7d' */
  window?: string;
  /** How many topics and hooks to return, 1–50. @defaultValue 10 */
  top?: number;
}

/** One ranked topic. */
export interface TopicTrend {
  label: string;
  /** Analyses whose report lists it. */
  analyses: number;
  /** Mean of the model's confidence for it, 0–1. */
  averageConfidence: number;
  /** Mean virality score (0–100) of those analyses. */
  averageViralityScore: number;
}

/** One ranked hook. */
export interface HookTrend {
  description: string;
  analyses: number;
  /** Mean position of the hook in the videos, seconds. */
  averageTimestampSec: number;
  averageViralityScore: number;
}

/** The body of `GET /v1/trends`. */
export interface TrendsReport {
  window: string;
  /** Window start and end (now), ISO 8601. */
  from: string;
  to: string;
  /** Succeeded analyses with a report in the window (those the figures are computed from). */
  analyses: number;
  /** Mean virality score of those analyses, or null when there are none. */
  averageViralityScore: number | null;
  topTopics: TopicTrend[];
  topHooks: HookTrend[];
  /** True when the window held more than MAX_TREND_ANALYSES analyses and only the newest were read. */
  sampled: boolean;
}

/**
 * `7d` → hours.
 * @throws ValidationError at `query.window` when it is not `<n>h`/`<n>d` or exceeds 90 days.
 */
export function windowHours(window: string): number {
  const m = /^([1-9]\d{0,3})([hd])$/.exec(window);
  const hours = m ? Number(m[1]) * (m[2] === 'd' ? 24 : 1) : NaN;
  if (!(hours <= MAX_WINDOW_HOURS)) {
    throw new ValidationError('the window is invalid', [{ where: 'query.window', message: `must be <n>h or <n>d, at most ${MAX_WINDOW_HOURS / 24}d` }]);
  }
  return hours;
}

/** Grouping key of a label: lower case, letters/digits/spaces only, spaces collapsed. */
export function normaliseLabel(label: string): string {
  return label.toLowerCase().replace(/[^\p{L}\p{N}\s]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

interface Tally {
  label: string;
  analyses: number;
  /** Sum of the per-analysis measure (confidence or timestamp). */
  measureSum: number;
  viralitySum: number;
}

function objectsOf(v: unknown): Array<Record<string, unknown>> {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
}

function finite(v: unknown, min: number, max: number): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : undefined;
}

/** Adds one analysis's items to `tallies`, once per key. */
function tally(tallies: Map<string, Tally>, items: Array<{ label: string; measure: number }>, virality: number): void {
  const seen = new Set<string>();
  for (const { label, measure } of items) {
    const key = normaliseLabel(label);
    if (key === '' || seen.has(key)) continue;
    seen.add(key);
    const t = tallies.get(key) ?? { label: label.trim(), analyses: 0, measureSum: 0, viralitySum: 0 };
    t.analyses++;
    t.measureSum += measure;
    t.viralitySum += virality;
    tallies.set(key, t);
  }
}

function rank(tallies: Map<string, Tally>, top: number): Tally[] {
  const mean = (t: Tally): number => t.viralitySum / t.analyses;
  return [...tallies.values()].sort((a, b) => b.analyses - a.analyses || mean(b) - mean(a) || a.label.localeCompare(b.label)).slice(0, top);
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** What one record contributes, or undefined when it has no usable report. */
function digest(r: AnalysisRecord): { virality: number; topics: Array<{ label: string; measure: number }>; hooks: Array<{ label: string; measure: number }> } | undefined {
  if (r.status !== 'succeeded' || !r.result) return undefined;
  const report: unknown = r.result.report;
  if (typeof report !== 'object' || report === null) return undefined;
  const vs = (report as Record<string, unknown>).viralityScore;
  const virality = typeof vs === 'object' && vs !== null ? finite((vs as Record<string, unknown>).score, 0, 100) : undefined;
  if (virality === undefined) return undefined;
  const { topics: rawTopics, hooks: rawHooks } = report as Record<string, unknown>;
  const topics = objectsOf(rawTopics).flatMap((t) => (typeof t.label === 'string' ? [{ label: t.label, measure: finite(t.confidence, 0, 1) ?? 0 }] : []));
  const hooks = objectsOf(rawHooks).flatMap((h) => (typeof h.description === 'string' ? [{ label: h.description, measure: finite(h.timestampSec, 0, Number.MAX_SAFE_INTEGER) ?? 0 }] : []));
  return { virality, topics, hooks };
}

/**
 * Aggregates the caller's tenant's trends over `q.window` ending at `nowMs` (ms since the epoch).
 * @throws ValidationError at `query.window`; Redis errors as thrown.
 */
export async function aggregateTrends(store: AnalysisStore, caller: Principal, q: TrendsQuery, nowMs: number = Date.now()): Promise<TrendsReport> {
  const window = q.window ?? DEFAULT_WINDOW;
  const top = q.top ?? DEFAULT_TOP;
  const fromMs = nowMs - windowHours(window) * 3_600_000;
  const topics = new Map<string, Tally>();
  const hooks = new Map<string, Tally>();
  let analyses = 0;
  let viralitySum = 0;
  let read = 0;
  let sampled = false;
  for await (const { record } of store.scanTenant(caller.tenantId, { createdFromMs: fromMs, createdBeforeMs: nowMs + 1, batchSize: 100 })) {
    if (read === MAX_TREND_ANALYSES) {
      sampled = true;
      break;
    }
    read++;
    if (record.tenantId !== caller.tenantId) continue;
    const d = digest(record);
    if (!d) continue;
    analyses++;
    viralitySum += d.virality;
    tally(topics, d.topics, d.virality);
    tally(hooks, d.hooks, d.virality);
  }
  return {
    window,
    from: new Date(fromMs).toISOString(),
    to: new Date(nowMs).toISOString(),
    analyses,
    averageViralityScore: analyses > 0 ? round(viralitySum / analyses, 2) : null,
    topTopics: rank(topics, top).map((t) => ({ label: t.label, analyses: t.analyses, averageConfidence: round(t.measureSum / t.analyses, 3), averageViralityScore: round(t.viralitySum / t.analyses, 2) })),
    topHooks: rank(hooks, top).map((t) => ({ description: t.label, analyses: t.analyses, averageTimestampSec: round(t.measureSum / t.analyses, 2), averageViralityScore: round(t.viralitySum / t.analyses, 2) })),
    sampled,
  };
}
