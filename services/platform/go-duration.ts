/**
 * Go duration strings (`30s`, `2m`, `1h30m`, `1.5h`, `300ms`), the syntax Copilot manifests and our desired-state
 * documents use for intervals (Go `time.ParseDuration`: a sequence of decimal numbers, each with a unit
 * `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`).
 */

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Matches a whole unsigned Go duration; the same text as the JSON Schemas' duration pattern. */
export const GO_DURATION_PATTERN = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/;

/**
 * Parses a Go duration into milliseconds (fractions kept: `1.5s` → 1500, `10ns` → 0.00001).
 * `0` alone is accepted, as in Go. Returns undefined for anything else (negative durations included).
 */
export function parseGoDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (!GO_DURATION_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}
