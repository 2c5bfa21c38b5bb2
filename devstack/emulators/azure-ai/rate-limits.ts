/**
 * Per-model request and token quotas over a sliding 60-second window, the way Azure AI deployments meter RPM and
 * TPM: tokens are counted at admission from an estimate (prompt tokens + `max_tokens`), and every answer carries
 * `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-limit-tokens` and
 * `x-ratelimit-remaining-tokens` (reference/azure-ai-inference.md §6).
 */

const WINDOW_MS = 60_000;

/** The outcome of {@link ModelQuota.admit}. */
export interface Admission {
  admitted: boolean;
  /** When refused: how long until the request would fit, in ms. */
  retryAfterMs: number;
  /** The `x-ratelimit-*` headers to send. */
  headers: Record<string, string>;
}

/** RPM/TPM accounting of one model. */
export class ModelQuota {
  private entries: { atMs: number; tokens: number }[] = [];

  constructor(
    readonly requestsPerMinute: number,
    readonly tokensPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  private prune(now: number): void {
    this.entries = this.entries.filter((e) => now - e.atMs < WINDOW_MS);
  }

  /** Headers describing the window as it is now (after any admission). */
  headers(): Record<string, string> {
    this.prune(this.now());
    const used = this.entries.reduce((n, e) => n + e.tokens, 0);
    return {
      'x-ratelimit-limit-requests': String(this.requestsPerMinute),
      'x-ratelimit-remaining-requests': String(Math.max(0, this.requestsPerMinute - this.entries.length)),
      'x-ratelimit-limit-tokens': String(this.tokensPerMinute),
      'x-ratelimit-remaining-tokens': String(Math.max(0, this.tokensPerMinute - used)),
    };
  }

  /** Adds `tokens` to the newest admitted request (tokens learnt after admission, e.g. the completion). */
  charge(tokens: number): void {
    const last = this.entries[this.entries.length - 1];
    if (last && tokens > 0) last.tokens += tokens;
  }

  /** Counts a request of `tokens` estimated tokens if it fits in the window; otherwise says when it would. */
  admit(tokens: number): Admission {
    const now = this.now();
    this.prune(now);
    const used = this.entries.reduce((n, e) => n + e.tokens, 0);
    const fitsRequests = this.entries.length + 1 <= this.requestsPerMinute;
    const fitsTokens = used + tokens <= this.tokensPerMinute;
    if (fitsRequests && fitsTokens) {
      this.entries.push({ atMs: now, tokens });
      return { admitted: true, retryAfterMs: 0, headers: this.headers() };
    }
    let waitMs = 0;
    if (!fitsRequests) waitMs = Math.max(waitMs, this.entries[0]!.atMs + WINDOW_MS - now);
    if (!fitsTokens) {
      let freed = 0;
      const needed = used + tokens - this.tokensPerMinute;
      let until = WINDOW_MS;
      for (const e of this.entries) {
        freed += e.tokens;
        if (freed >= needed) {
          until = e.atMs + WINDOW_MS - now;
          break;
        }
      }
      waitMs = Math.max(waitMs, until);
    }
    return { admitted: false, retryAfterMs: Math.max(1, Math.ceil(waitMs)), headers: this.headers() };
  }
}
