/**
 * 64-bit difference hash (dHash) of an image, and the Hamming distance between two hashes, for dropping
 * near-duplicate keyframes.
 *
 * dHash: greyscale, resize to 9×8, one bit per pixel "brighter than its right neighbour" → 64 bits.
 * Measured in reference/video-keyframes.md §4: adjacent-frame distance 0–10 bits within a shot and 16–30 across
 * cuts, so a threshold around 10 separates them; ~11 ms per full-HD JPEG (decode dominates).
 */
import sharp from 'sharp';

/** Hashes at or below this Hamming distance (bits of 64) count as the same picture (reference §4). */
export const NEAR_DUPLICATE_MAX_DISTANCE = 10;

/**
 * dHash of an encoded image (JPEG, PNG, WebP…) or a file path, as an unsigned 64-bit bigint.
 * Row-major, most significant bit first: bit (63 - (y*8 + x)) is set when pixel (x, y) > pixel (x+1, y).
 * @throws Error from sharp when the input is not a decodable image.
 */
export async function dHash(image: Buffer | string): Promise<bigint> {
  const { data, info } = await sharp(image, { failOn: 'error' })
    .rotate() // honour EXIF orientation, if any
    .greyscale()
    .resize(9, 8, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== 9 || info.height !== 8 || info.channels !== 1) {
    throw new Error(`dHash: expected a 9×8 grey image, sharp produced ${info.width}×${info.height}×${info.channels}`);
  }
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const left = data[y * 9 + x]!;
      const right = data[y * 9 + x + 1]!;
      hash = (hash << 1n) | (left > right ? 1n : 0n);
    }
  }
  return hash;
}

/** Number of differing bits between two 64-bit hashes (0–64). */
export function hammingDistance(a: bigint, b: bigint): number {
  let x = BigInt.asUintN(64, a ^ b);
  let count = 0;
  while (x !== 0n) {
    x &= x - 1n;
    count++;
  }
  return count;
}

/** A hash as 16 lowercase hex digits (for logs and records). */
export function hashToHex(h: bigint): string {
  return BigInt.asUintN(64, h).toString(16).padStart(16, '0');
}
