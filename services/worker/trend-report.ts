/**
 * The trend report: its JSON Schema (`schemas/trend-report.schema.json`), its TypeScript shape, the prompts that
 * ask the models for it, and its validation.
 *
 * The vision prompt is the same text for every keyframe (no time, no ids): the coordinator's response cache is
 * keyed by the normalised request, so a keyframe seen before costs nothing (DESIGN §6). Everything
 * video-specific goes into the one text-model request.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { TerminalError } from '../platform/errors.ts';
import type { VideoFacts } from '../analyses/types.ts';

/** The report, as `schemas/trend-report.schema.json` describes it. */
export interface TrendReport {
  summary: string;
  topics: Array<{ label: string; confidence: number }>;
  hooks: Array<{ timestampSec: number; description: string }>;
  visualStyle: { description: string; tags: string[] };
  pacing: { label: 'slow' | 'moderate' | 'fast'; description: string };
  sentiment: { label: 'positive' | 'neutral' | 'negative' | 'mixed'; score: number };
  viralityScore: { score: number; reasons: string[] };
  keyframeNotes: Array<{ index: number; timestampSec: number; note: string }>;
}

const schemaPath = fileURLToPath(new URL('../../schemas/trend-report.schema.json', import.meta.url));
/** The schema file as parsed JSON. */
export const TREND_REPORT_SCHEMA: Readonly<Record<string, unknown>> = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;

/**
 * The schema as sent to the model (`response_format.json_schema.schema`): the file without `$schema`/`$id`
 * (meta keywords a model and a validator of another draft need not see). Built once, so a validator that caches
 * compiled schemas by object identity compiles it once.
 */
export const TREND_REPORT_MODEL_SCHEMA: Record<string, unknown> = (() => {
  const { $schema: _s, $id: _i, ...rest } = TREND_REPORT_SCHEMA;
  return rest;
})();

/** `response_format.json_schema.name` of the report. */
export const TREND_REPORT_SCHEMA_NAME = 'trend_report';

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile<TrendReport>(TREND_REPORT_SCHEMA);

/** Prompt sent with every keyframe to the vision model. */
export const KEYFRAME_PROMPT =
  'This is one keyframe of a short social-media video. In at most 60 words describe: the subjects and setting, ' +
  'the action, any on-screen text (quote it), the visual style (framing, colour, lighting) and the mood. Plain text.';

/** Upper bound on the vision model's answer per keyframe, tokens. */
export const KEYFRAME_MAX_TOKENS = 200;
/** Upper bound on the report answer, tokens. */
export const REPORT_MAX_TOKENS = 2000;

/** A keyframe as the text model sees it. */
export interface KeyframeNoteInput {
  index: number;
  timestampSec: number;
  note: string;
}

/** System and user messages asking the text model for the report. */
export function reportPrompt(video: VideoFacts, notes: readonly KeyframeNoteInput[]): { system: string; user: string } {
  const system =
    'You are a social-video trend analyst. From the video facts and the notes on its keyframes, write a trend ' +
    'report as one JSON object that satisfies the given JSON Schema. Judge only from the notes; do not invent ' +
    'content. keyframeNotes must contain one entry per keyframe, with its index and timestampSec exactly as given. ' +
    'Answer with the JSON object only.';
  const user = JSON.stringify({
    video: {
      durationSec: Math.round(video.durationSec * 1000) / 1000,
      width: video.width,
      height: video.height,
      orientation: video.width > video.height ? 'landscape' : video.width < video.height ? 'portrait' : 'square',
      hasAudio: video.hasAudio,
    },
    keyframes: notes.map((n) => ({ index: n.index, timestampSec: n.timestampSec, note: n.note })),
  });
  return { system, user };
}

function renderErrors(errors: ErrorObject[]): string {
  return errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
}

/**
 * Validates a report against the schema and makes it agree with what was actually analysed:
 * - keyframe notes naming an unknown index are dropped, times are taken from the keyframes, order is by index,
 *   and a keyframe the model left out gets the vision model's own note (`keyframes[].note`), so every analysed
 *   keyframe has exactly one note;
 * - hooks timed outside the video (`0 … durationSec`) are dropped: a model cannot point at a moment that
 *   does not exist.
 * @param durationSec length of the video, seconds; hooks are not checked when absent.
 * @throws TerminalError `invalid_model_output` naming the JSON paths that fail the schema.
 */
export function acceptReport(
  json: unknown,
  keyframes: readonly { index: number; timestampSec: number; note?: string }[],
  durationSec?: number,
): TrendReport {
  if (!validate(json)) {
    throw new TerminalError('invalid_model_output', `trend report does not match schemas/trend-report.schema.json: ${renderErrors(validate.errors ?? [])}`);
  }
  const byIndex = new Map(keyframes.map((k) => [k.index, k]));
  const seen = new Set<number>();
  const fromModel = json.keyframeNotes
    .filter((n) => byIndex.has(n.index) && !seen.has(n.index) && seen.add(n.index))
    .map((n) => ({ ...n, timestampSec: byIndex.get(n.index)!.timestampSec }));
  const filled = keyframes
    .filter((k) => !seen.has(k.index) && k.note !== undefined && k.note !== '')
    .map((k) => ({ index: k.index, timestampSec: k.timestampSec, note: k.note! }));
  const keyframeNotes = [...fromModel, ...filled].sort((a, b) => a.index - b.index);
  const hooks = durationSec === undefined ? json.hooks : json.hooks.filter((h) => h.timestampSec <= durationSec);
  return { ...json, hooks, keyframeNotes };
}
