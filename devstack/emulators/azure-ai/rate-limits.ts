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

/**
 * RPM/TPM accounting of one model. The window is a queue of admitted requests, oldest first, with a running token sum:
 * pruning, admission and the headers cost O(1) amortised per request, so the emulator keeps its pace at thousands of
 * requests per window (a filtered copy of the whole window on every request made a long benchmark run slower and
 * slower: ~36,000 entries per window at 600 requests/s).
 */
export class ModelQuota {
  /** Admitted requests; those before {@link head} have left the window. */
  private entries: { atMs: number; tokens: number }[] = [];
  private head = 0;
  /** Tokens of `entries[head…]`. */
  private used = 0;

  constructor(
    readonly requestsPerMinute: number,
    readonly tokensPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Requests in the window now. */
  private get count(): number {
    return this.entries.length - this.head;
  }

  private prune(now: number): void {
    while (this.head < this.entries.length && now - this.entries[this.head]!.atMs >= WINDOW_MS) {
      this.used -= this.entries[this.head]!.tokens;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    if (this.count === 0) this.used = 0; // no rounding drift across windows
  }

  /** Headers describing the window as it is now (after any admission). */
  headers(): Record<string, string> {
    this.prune(this.now());
    return {
      'x-ratelimit-limit-requests': String(this.requestsPerMinute),
      'x-ratelimit-remaining-requests': String(Math.max(0, this.requestsPerMinute - this.count)),
      'x-ratelimit-limit-tokens': String(this.tokensPerMinute),
      'x-ratelimit-remaining-tokens': String(Math.max(0, this.tokensPerMinute - this.used)),
    };
  }

  /** Adds `tokens` to the newest admitted request (tokens learnt after admission, e.g. the completion). */
  charge(tokens: number): void {
    const last = this.count > 0 ? this.entries[this.entries.length - 1] : undefined;
    if (last && tokens > 0) {
      last.tokens += tokens;
      this.used += tokens;
    }
  }

  /** Counts a request of `tokens` estimated tokens if it fits in the window; otherwise says when it would. */
  admit(tokens: number): Admission {
    const now = this.now();
    this.prune(now);
    const fitsRequests = this.count + 1 <= this.requestsPerMinute;
    const fitsTokens = this.used + tokens <= this.tokensPerMinute;
    if (fitsRequests && fitsTokens) {
      this.entries.push({ atMs: now, tokens });
      this.used += tokens;
      return { admitted: true, retryAfterMs: 0, headers: this.headers() };
    }
    let waitMs = 0;
    if (!fitsRequests) waitMs = Math.max(waitMs, this.entries[this.head]!.atMs + WINDOW_MS - now);
    if (!fitsTokens) {
      let freed = 0;
      const needed = this.used + tokens - this.tokensPerMinute;
      let until = WINDOW_MS;
      for (let i = this.head; i < this.entries.length; i++) {
        const e = this.entries[i]!;
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
