/**
 * Decodes an image sent to the AI emulator (a `data:image/<type>;base64,` URL) with sharp and measures it, so a
 * vision answer is derived from the actual pixels: size, mean brightness (Rec. 709 luma, 0–1), per-channel means
 * (0–255), colourfulness (Hasler & Süsstrunk 2003, "Measuring colourfulness in natural images") and a short
 * description built from those numbers. Statistics are computed on a copy scaled to at most 256 px.
 */
import { createHash } from 'node:crypto';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { badRequest } from './error-bodies.ts';

/** Image types accepted in data URLs. */
const DATA_URL = /^data:image\/(jpeg|jpg|png|webp);base64,([A-Za-z0-9+/=\s]+)$/;

/** What the emulator measured in one image. */
export interface ImageFacts {
  /** Decoded format (`jpeg`, `png`, `webp`). */
  format: string;
  /** Size in px. */
  width: number;
  height: number;
  /** Size of the decoded file in bytes. */
  bytes: number;
  /** Mean Rec. 709 luma, 0 (black) … 1 (white), 3 decimals. */
  meanBrightness: number;
  /** Mean red, green, blue, 0–255, 1 decimal. */
  meanRgb: [number, number, number];
  /** Hasler–Süsstrunk colourfulness M (0 for grey; above 109 "extremely colourful"), 1 decimal. */
  colourfulness: number;
  brightnessLabel: string;
  colourfulnessLabel: string;
  /** Channel whose mean leads the others by more than 10, or `none`. */
  dominantChannel: 'red' | 'green' | 'blue' | 'none';
  /** One sentence built from the numbers above. */
  description: string;
}

/**
 * Decodes the bytes of a data URL.
 * @param where the request field, for the error message.
 * @throws AiHttpError 400 when the URL is not a base64 data URL of a jpeg/png/webp image.
 */
export function decodeDataUrl(url: string, where: string): Buffer {
  if (/^https?:\/\//i.test(url)) throw badRequest(where, 'the emulator accepts only data: URLs (data:image/jpeg;base64,…); it does not fetch remote images');
  const m = DATA_URL.exec(url);
  if (!m) throw badRequest(where, 'must be a data URL of the form data:image/jpeg;base64,… (jpeg, png or webp)');
  const bytes = Buffer.from(m[2]!, 'base64');
  if (bytes.length === 0) throw badRequest(where, 'the data URL holds no bytes');
  return bytes;
}

function brightnessLabel(y: number): string {
  if (y < 0.2) return 'very dark';
  if (y < 0.4) return 'dark';
  if (y < 0.6) return 'medium-brightness';
  if (y < 0.8) return 'bright';
  return 'very bright';
}

/** Hasler & Süsstrunk's perceptual scale for M. */
function colourfulnessLabel(m: number): string {
  if (m < 15) return 'not colourful';
  if (m < 33) return 'slightly colourful';
  if (m < 45) return 'moderately colourful';
  if (m < 59) return 'averagely colourful';
  if (m < 82) return 'quite colourful';
  if (m < 109) return 'highly colourful';
  return 'extremely colourful';
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** Images whose facts {@link analyseImage} keeps (the most recently used). */
export const IMAGE_FACTS_CACHE_SIZE = 256;

/** Facts of recently seen images by SHA-256 of their bytes, oldest first (a Map keeps insertion order). */
const recentFacts = new Map<string, ImageFacts>();

/**
 * Decodes and measures an image. The facts are a pure function of the bytes, so those of the last
 * {@link IMAGE_FACTS_CACHE_SIZE} images are kept by their SHA-256 and a repeated image (the same keyframe sent again,
 * a benchmark's fixed frame) is not decoded again: the emulator stands for a remote service, and its CPU would
 * otherwise compete with the caller's for this machine's cores.
 * @param where the request field, for error messages.
 * @throws AiHttpError 400 when sharp cannot decode the bytes (a failure is not kept).
 */
export async function analyseImage(bytes: Buffer, where: string): Promise<ImageFacts> {
  const key = createHash('sha256').update(bytes).digest('hex');
  const known = recentFacts.get(key);
  if (known) {
    recentFacts.delete(key);
    recentFacts.set(key, known);
    return known;
  }
  const facts = await measureImage(bytes, where);
  recentFacts.set(key, facts);
  if (recentFacts.size > IMAGE_FACTS_CACHE_SIZE) recentFacts.delete(recentFacts.keys().next().value as string);
  return facts;
}

/** {@link analyseImage} without the memory. */
async function measureImage(bytes: Buffer, where: string): Promise<ImageFacts> {
  let meta: Metadata;
  let raw: { data: Buffer; info: OutputInfo };
  try {
    const img = sharp(bytes, { failOn: 'error', limitInputPixels: 100_000_000 });
    meta = await img.metadata();
    raw = await img
      .clone()
      .resize(256, 256, { fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw badRequest(where, `the image could not be decoded (${e instanceof Error ? e.message : String(e)})`);
  }
  const { data, info } = raw;
  const n = info.width * info.height;
  const ch = info.channels;
  let r = 0, g = 0, b = 0, rg = 0, yb = 0, rg2 = 0, yb2 = 0;
  for (let i = 0; i < n * ch; i += ch) {
    const R = data[i]!, G = data[i + 1]!, B = data[i + 2]!;
    r += R;
    g += G;
    b += B;
    const a = R - G;
    const c = 0.5 * (R + G) - B;
    rg += a;
    yb += c;
    rg2 += a * a;
    yb2 += c * c;
  }
  const mr = r / n, mg = g / n, mb = b / n;
  const mRg = rg / n, mYb = yb / n;
  const sdRg = Math.sqrt(Math.max(0, rg2 / n - mRg * mRg));
  const sdYb = Math.sqrt(Math.max(0, yb2 / n - mYb * mYb));
  const colourfulness = Math.sqrt(sdRg ** 2 + sdYb ** 2) + 0.3 * Math.sqrt(mRg ** 2 + mYb ** 2);
  const luma = (0.2126 * mr + 0.7152 * mg + 0.0722 * mb) / 255;
  const sorted = [
    ['red', mr],
    ['green', mg],
    ['blue', mb],
  ].sort((x, y) => (y[1] as number) - (x[1] as number)) as [ImageFacts['dominantChannel'], number][];
  const dominantChannel = sorted[0]![1] - sorted[1]![1] > 10 ? sorted[0]![0] : 'none';
  const width = meta.width ?? info.width;
  const height = meta.height ?? info.height;
  const bl = brightnessLabel(luma);
  const cl = colourfulnessLabel(colourfulness);
  const cast = dominantChannel === 'none' ? 'neutral colour balance' : `a ${dominantChannel} cast`;
  return {
    format: meta.format ?? 'unknown',
    width,
    height,
    bytes: bytes.length,
    meanBrightness: round(luma, 3),
    meanRgb: [round(mr, 1), round(mg, 1), round(mb, 1)],
    colourfulness: round(colourfulness, 1),
    brightnessLabel: bl,
    colourfulnessLabel: cl,
    dominantChannel,
    description: `a ${bl}, ${cl} ${width}x${height} frame with ${cast}`,
  };
}
