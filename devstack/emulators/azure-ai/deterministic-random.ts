/**
 * A seeded pseudo-random source for the AI emulator: the same seed (a hash of the request) always gives the same
 * sequence, so identical requests get identical answers. Built on SHA-256 in counter mode; not for security.
 */
import { createHash } from 'node:crypto';

/** Deterministic random numbers from a string seed. */
export class SeededRandom {
  private block = Buffer.alloc(0);
  private offset = 0;
  private counter = 0;

  constructor(private readonly seed: string) {}

  /** A float in [0, 1). */
  next(): number {
    if (this.offset + 4 > this.block.length) {
      this.block = createHash('sha256').update(`${this.seed}\u0000${this.counter++}`).digest();
      this.offset = 0;
    }
    const v = this.block.readUInt32BE(this.offset);
    this.offset += 4;
    return v / 2 ** 32;
  }

  /** An integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    if (max <= min) return min;
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

/** Hex SHA-256 of a string. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
