/**
 * Durations of desired-state documents: Go syntax (`60s`, `5m`, `1h30m`, `1.5h`, `250ms`), the one Copilot
 * manifests use (reference/copilot-manifests.md §2). Parsing is `go-duration.ts`'s; this module adds the
 * throwing, whole-millisecond form the loader and the reconciler want, and a short formatter.
 */
import { parseGoDurationMs } from '../go-duration.ts';

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
  const ms = parseGoDurationMs(text);
  return ms === undefined ? undefined : Math.round(ms);
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
