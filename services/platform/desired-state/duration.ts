/**
 * Go-style durations (`60s`, `5m`, `1h30m`, `1.5h`, `250ms`), the syntax Copilot manifests use
 * (reference/copilot-manifests.md §2). Units accepted: `h`, `m`, `s`, `ms`; terms may repeat in any order
 * (as in Go's time.ParseDuration). Nanoseconds and microseconds are refused: nothing here needs them.
 */

const TERM = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * Parses a duration into whole milliseconds (rounded).
 * @example parseDurationMs('1h30m') === 5_400_000
 * @throws Error naming the text when it is not a duration (empty, no unit, unknown unit, trailing text).
 */
export function parseDurationMs(text: string): number {
  const ms = tryParseDurationMs(text);
  if (ms === undefined) throw new Error(`invalid duration "${text}": use Go syntax like 60s, 5m, 1h30m or 250ms`);
  return ms;
}

/** Like {@link parseDurationMs} but returns `undefined` instead of throwing. */
export function tryParseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0) return undefined;
  TERM.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = TERM.exec(text); m; m = TERM.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = TERM.lastIndex;
  }
  if (consumed !== text.length) return undefined;
  return Math.round(total);
}

/** Formats milliseconds the short way for logs and plans: `90000` → `1m30s`, `250` → `250ms`. */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}
