/**
 * Token estimates of the AI emulator. Real tokenisers differ per model; the emulator uses the common rule of
 * thumb of one token per 4 characters of text, plus a fixed cost per image (about 1,610 tokens for a 512x512
 * image with Llama 3.2 Vision per Oracle's model page, reference/azure-ai-inference.md §9).
 */

/** Default prompt-token cost of one image. */
export const DEFAULT_IMAGE_TOKENS = 1610;

/** Tokens of a text: `ceil(characters / 4)`. */
export function textTokens(text: string): number {
  return charTokens(text.length);
}

/** Tokens of `chars` characters of text. */
export function charTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Truncates `text` to at most `tokens` tokens (4 characters each). */
export function truncateToTokens(text: string, tokens: number): string {
  return text.slice(0, Math.max(0, tokens) * 4);
}
