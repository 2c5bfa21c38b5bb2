/**
 * Removes a reasoning model's thinking from its answer.
 *
 * Facts (reference/azure-ai-inference.md §9): with `api-version=2024-05-01-preview` DeepSeek-R1 puts its reasoning
 * inline in `content` between `<think>` and `</think>`; with `2025-04-01` it moves to `message.reasoning_content`
 * (which the coordinator never reads). The model may skip the block, or emit a `</think>` without the opening tag.
 */

const BLOCK = /<think>[\s\S]*?<\/think>/gi;
const CLOSE = '</think>';
const OPEN = '<think>';

/**
 * Returns `content` without reasoning, trimmed:
 * - every `<think>…</think>` block is removed;
 * - a stray `</think>` (opening tag missing) drops everything before it;
 * - a stray `<think>` with no closing tag (answer cut off while thinking) drops everything after it.
 */
export function stripReasoning(content: string): string {
  let out = content.replace(BLOCK, '');
  const lower = out.toLowerCase();
  const close = lower.lastIndexOf(CLOSE);
  if (close >= 0) out = out.slice(close + CLOSE.length);
  const open = out.toLowerCase().indexOf(OPEN);
  if (open >= 0) out = out.slice(0, open);
  return out.trim();
}
