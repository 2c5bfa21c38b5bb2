/**
 * The models an AI emulator serves, as configured at start, with defaults applied. Names are Foundry deployment
 * names (`Llama-3.2-90B-Vision-Instruct`, `DeepSeek-R1`), matched exactly.
 */
import { ValidationError, type Problem } from '../../../services/platform/errors.ts';
import { DEFAULT_IMAGE_TOKENS } from './tokens.ts';

/** One model as given to `startAiEmulator`. */
export interface AiModelConfig {
  /** Deployment name, sent as `model` in the body. */
  name: string;
  /** `model_type` of `GET /info`. @defaultValue 'chat-completion' */
  type?: string;
  /** `model_provider_name` of `GET /info`, e.g. `Meta`, `DeepSeek`. */
  provider: string;
  /** Accepts `image_url` content parts. @defaultValue false */
  vision?: boolean;
  /** A reasoning model: answers carry reasoning text (`reasoning_content` or `<think>`). @defaultValue false */
  reasoning?: boolean;
  /** Quota in requests per minute (sliding 60 s window); over it the emulator answers 429. @defaultValue 1000 */
  requestsPerMinute?: number;
  /** Quota in tokens per minute, counted at admission as prompt tokens + max_tokens. @defaultValue 1000000 */
  tokensPerMinute?: number;
  /** Prompt tokens counted per image. @defaultValue 1610 */
  imageTokens?: number;
  /** Most images in one request (Llama 3.2 Vision takes one: reference §9). @defaultValue 1 for vision models */
  maxImagesPerRequest?: number;
  /** When set, images whose longer edge exceeds this many px are refused with 400. @defaultValue unset */
  maxImageEdgePx?: number;
}

/** A model with every default applied. */
export interface AiModel {
  name: string;
  type: string;
  provider: string;
  vision: boolean;
  reasoning: boolean;
  requestsPerMinute: number;
  tokensPerMinute: number;
  imageTokens: number;
  maxImagesPerRequest: number;
  maxImageEdgePx?: number;
}

function positiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/**
 * Applies defaults and checks the configuration.
 * @throws ValidationError listing every problem with its place (`models[1].name`).
 */
export function normaliseModels(configs: readonly AiModelConfig[]): AiModel[] {
  const problems: Problem[] = [];
  if (!Array.isArray(configs) || configs.length === 0) problems.push({ where: 'models', message: 'must list at least one model' });
  const seen = new Set<string>();
  const out: AiModel[] = [];
  (configs ?? []).forEach((c, i) => {
    const where = `models[${i}]`;
    if (typeof c.name !== 'string' || c.name.length === 0) problems.push({ where: `${where}.name`, message: 'must be a non-empty string' });
    else if (seen.has(c.name)) problems.push({ where: `${where}.name`, message: `duplicates model ${c.name}` });
    seen.add(c.name);
    if (typeof c.provider !== 'string' || c.provider.length === 0) problems.push({ where: `${where}.provider`, message: 'must be a non-empty string' });
    for (const k of ['requestsPerMinute', 'tokensPerMinute', 'imageTokens', 'maxImagesPerRequest', 'maxImageEdgePx'] as const) {
      if (c[k] !== undefined && !positiveInt(c[k])) problems.push({ where: `${where}.${k}`, message: 'must be a positive integer' });
    }
    out.push({
      name: c.name,
      type: c.type ?? 'chat-completion',
      provider: c.provider,
      vision: c.vision ?? false,
      reasoning: c.reasoning ?? false,
      requestsPerMinute: c.requestsPerMinute ?? 1000,
      tokensPerMinute: c.tokensPerMinute ?? 1_000_000,
      imageTokens: c.imageTokens ?? DEFAULT_IMAGE_TOKENS,
      maxImagesPerRequest: c.maxImagesPerRequest ?? (c.vision ? 1 : 0),
      ...(c.maxImageEdgePx !== undefined ? { maxImageEdgePx: c.maxImageEdgePx } : {}),
    });
  });
  if (problems.length) throw new ValidationError('invalid AI emulator configuration', problems);
  return out;
}
