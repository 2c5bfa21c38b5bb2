/**
 * An in-process AiCoordinator for pipeline tests (injected, so the pipeline cannot tell). Its answers are computed
 * from the request, never constants: the vision note describes the image it was given (size, mean brightness,
 * dominant channel, dHash), the report is built from the keyframe notes it receives. Tests recompute the same
 * values from the blobs to prove each keyframe reached the model and the report came from those notes.
 */
import sharp from 'sharp';
import type { ModelCallRecord } from '../../services/analyses/types.ts';
import type { AiCoordinator, DescribeImageRequest, GenerateJsonRequest, JsonResult, TextResult } from '../../services/ai/types.ts';
import { dHash, hashToHex } from '../../services/media/perceptual-hash.ts';

/** The note the fake vision model writes for `image`. */
export async function describeForTest(image: Buffer): Promise<string> {
  const s = await sharp(image).stats();
  const [r, g, b] = s.channels.map((c) => c.mean);
  const mean = Math.round(((r ?? 0) + (g ?? 0) + (b ?? 0)) / 3);
  const dominant = ['red', 'green', 'blue'][[r ?? 0, g ?? 0, b ?? 0].indexOf(Math.max(r ?? 0, g ?? 0, b ?? 0))];
  const meta = await sharp(image).metadata();
  return `frame ${meta.width}x${meta.height}, mean brightness ${mean}, mostly ${dominant}, dhash ${hashToHex(await dHash(image))}`;
}

/** Behaviour switches for failure tests. */
export interface FakeOptions {
  /** Throw this from the first `n` describeImage calls. */
  failFirst?: { n: number; error: () => Error };
  /** Never settle describeImage (to exercise the job timeout). */
  hang?: boolean;
  /** describeImage answers only once this settles (counted on arrival), so a test can hold an analysis mid-work. */
  hold?: Promise<unknown>;
}

/** The fake, with counters tests can read. */
export class FakeCoordinator implements AiCoordinator {
  visionCalls = 0;
  textCalls = 0;
  readonly images: Buffer[] = [];
  private readonly o: FakeOptions;
  constructor(o: FakeOptions = {}) {
    this.o = o;
  }

  private record(task: 'vision' | 'text', promptChars: number, completionChars: number): ModelCallRecord {
    const promptTokens = Math.ceil(promptChars / 4);
    const completionTokens = Math.ceil(completionChars / 4);
    return {
      task, modelName: task === 'vision' ? 'fake-vision' : 'fake-text', model: task === 'vision' ? 'Fake-Vision' : 'Fake-Text',
      promptTokens, completionTokens, costUsd: (promptTokens * 1 + completionTokens * 2) / 1e6, durationMs: 1, cached: false,
    };
  }

  async describeImage(req: DescribeImageRequest): Promise<TextResult> {
    this.visionCalls++;
    if (this.o.hang) return new Promise<TextResult>(() => undefined);
    if (this.o.hold) await this.o.hold;
    if (this.o.failFirst && this.visionCalls <= this.o.failFirst.n) throw this.o.failFirst.error();
    this.images.push(req.image);
    const text = await describeForTest(req.image);
    return { text, record: this.record('vision', req.prompt.length + req.image.length / 10, text.length) };
  }

  async generateJson(req: GenerateJsonRequest): Promise<JsonResult> {
    this.textCalls++;
    const input = JSON.parse(req.user) as { video: { durationSec: number }; keyframes: Array<{ index: number; timestampSec: number; note: string }> };
    const brightness = input.keyframes.map((k) => Number(/mean brightness (\d+)/.exec(k.note)?.[1] ?? 0));
    const avg = brightness.reduce((a, b) => a + b, 0) / Math.max(1, brightness.length);
    const colours = [...new Set(input.keyframes.map((k) => /mostly (\w+)/.exec(k.note)?.[1] ?? 'grey'))];
    const json = {
      summary: `A ${input.video.durationSec.toFixed(1)} s video with ${input.keyframes.length} distinct keyframes.`,
      topics: colours.map((c) => ({ label: `${c} imagery`, confidence: 0.5 })),
      hooks: input.keyframes.slice(0, 1).map((k) => ({ timestampSec: k.timestampSec, description: `opening: ${k.note.slice(0, 60)}` })),
      visualStyle: { description: `average brightness ${Math.round(avg)}`, tags: colours },
      pacing: { label: input.keyframes.length / input.video.durationSec > 1 ? 'fast' : input.keyframes.length > 1 ? 'moderate' : 'slow', description: `${input.keyframes.length} scenes` },
      sentiment: { label: avg > 128 ? 'positive' : 'neutral', score: Math.round((avg / 255) * 100) / 100 },
      viralityScore: { score: Math.min(100, input.keyframes.length * 10), reasons: [`${input.keyframes.length} distinct scenes`] },
      keyframeNotes: input.keyframes.map((k) => ({ index: k.index, timestampSec: k.timestampSec, note: k.note })),
    };
    return { json, records: [this.record('text', req.system.length + req.user.length, JSON.stringify(json).length)] };
  }

  /** Nothing is written after a fake call: nothing to wait for. */
  async settle(): Promise<void> {}

  async close(): Promise<void> {}
}
