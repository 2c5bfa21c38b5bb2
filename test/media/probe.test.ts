/**
 * ffprobe validation on the real samples (when ../shared is present) and on files generated here: every kind of
 * bad upload gets its own error code; the decode check rejects the truncated files ffprobe lets through.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { samplePath, makeClip } from '../../devstack/samples.ts';
import { probeVideo, validateProbe, DEFAULT_VIDEO_LIMITS, type VideoLimits, type VideoProbe } from '../../services/media/probe.ts';
import { checkDecodes } from '../../services/media/decode-check.ts';
import { BadVideoError, type BadVideoCode } from '../../services/media/bad-video-error.ts';
import { activeToolCount } from '../../services/media/process.ts';
import { audioOnly, ffmpeg, ffprobe, fixtureDir, garbleMoov, packetBoundaryOffset, truncateCopy } from './media-fixtures.ts';

const fx = await fixtureDir('probe');
test.after(() => fx.cleanup());

async function rejects(p: Promise<unknown>, code: BadVideoCode, messagePart?: RegExp): Promise<BadVideoError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, BadVideoError, `expected BadVideoError ${code}, got ${String(err)}`);
    const e = err as BadVideoError;
    assert.is(e.code, code, e.message);
    if (messagePart) assert.match(e.message, messagePart);
    return e;
  }
  assert.unreachable(`expected ${code}, but the file was accepted`);
  throw new Error('unreachable');
}

// ---- real samples ----------------------------------------------------------------------------------------------

interface SampleCase {
  file: string;
  check: (p: VideoProbe) => void;
}
const good: SampleCase[] = [
  { file: 'flower.mp4', check: (p) => {
    assert.is(p.codec, 'h264'); assert.is(p.container, 'mov,mp4,m4a,3gp,3g2,mj2'); assert.is(p.videoStreamIndex, 0);
    assert.is(p.width, 960); assert.is(p.height, 540); assert.ok(Math.abs(p.durationSec - 5.055) < 0.01); assert.ok(p.hasAudio);
    // Key packets at 0 and 3.003 s (audio packets, all flagged key, are not counted); the whole clip was scanned.
    assert.equal(p.keyPackets, { count: 2, scannedSec: p.durationSec });
  } },
  { file: 'flower.webm', check: (p) => {
    assert.is(p.codec, 'vp8'); assert.is(p.container, 'matroska,webm'); assert.is(p.width, 960); assert.ok(p.hasAudio);
  } },
  { file: 'friday.mp4', check: (p) => {
    // Audio is stream 0 in this file: the video stream must be found by type.
    assert.is(p.videoStreamIndex, 1); assert.is(p.codec, 'h264'); assert.is(p.width, 640); assert.is(p.height, 480);
    assert.is(p.keyPackets.count, 6);
  } },
  { file: 'vp9-counter-frames.webm', check: (p) => {
    assert.is(p.codec, 'vp9'); assert.is(p.hasAudio, false); assert.is(p.width, 1080); assert.is(p.height, 1080);
    assert.is(p.keyPackets.count, 1, 'one K-flagged packet, whatever the decoder later outputs');
  } },
  { file: 'rotate-buck-bunny.mp4', check: (p) => {
    // Display matrix −90°: coded 1920×1080, displayed 1080×1920.
    assert.is(p.rotation, -90); assert.is(p.codedWidth, 1920); assert.is(p.width, 1080); assert.is(p.height, 1920);
  } },
  { file: 'stream-of-water.webm', check: (p) => {
    assert.is(p.codec, 'vp8'); assert.ok(p.durationSec > 3 && p.durationSec < 3.2);
  } },
];

for (const c of good) {
  const path = samplePath(c.file);
  if (!path) {
    console.log(`skip: ${c.file} accepted — ../shared/samples/videos is not present`);
    test.skip(`${c.file} is accepted`, () => undefined);
    continue;
  }
  test(`${c.file} is accepted with the right facts`, async () => {
    const p = await probeVideo(path, DEFAULT_VIDEO_LIMITS);
    c.check(p);
    const d = await checkDecodes(path, p, { timeoutMs: 30_000 });
    assert.ok(d.keyframes >= 1);
  });
}

const notVideo = samplePath('not-a-video.mp4');
if (notVideo) {
  test('not-a-video.mp4 → not_a_video', async () => {
    await rejects(probeVideo(notVideo, DEFAULT_VIDEO_LIMITS), 'not_a_video', /not a video/);
  });
} else {
  console.log('skip: not-a-video.mp4 — ../shared/samples/videos is not present');
  test.skip('not-a-video.mp4 → not_a_video', () => undefined);
}

const truncated = samplePath('truncated-flower.mp4');
if (truncated) {
  test('truncated-flower.mp4 probes fine but the decode check → corrupt_video', async () => {
    const p = await probeVideo(truncated, DEFAULT_VIDEO_LIMITS); // ffprobe alone is fooled (reference §5)
    assert.ok(p.durationSec > 5);
    await rejects(checkDecodes(truncated, p, { timeoutMs: 30_000 }), 'corrupt_video', /corrupt input packet|Invalid NAL/);
  });
} else {
  console.log('skip: truncated-flower.mp4 — ../shared/samples/videos is not present');
  test.skip('truncated-flower.mp4 → corrupt_video', () => undefined);
}

// ---- generated files ---------------------------------------------------------------------------------------------

test('zero-length file → empty_file', async () => {
  const f = fx.path('empty.mp4');
  await writeFile(f, '');
  await rejects(probeVideo(f, DEFAULT_VIDEO_LIMITS), 'empty_file');
});

test('audio-only m4a named .mp4 → no_video_stream', async () => {
  const f = audioOnly(fx.path('song.mp4'));
  await rejects(probeVideo(f, DEFAULT_VIDEO_LIMITS), 'no_video_stream', /audio/);
});

test('too long, too large and too high resolution, each against a low limit', async () => {
  const clip = await makeClip(fx.path('clip.mp4'), { seconds: 3, width: 640, height: 360 });
  const ok = await probeVideo(clip, DEFAULT_VIDEO_LIMITS);
  assert.ok(ok.durationSec >= 2.9);
  const limits = (o: Partial<VideoLimits>): VideoLimits => ({ ...DEFAULT_VIDEO_LIMITS, ...o });
  await rejects(probeVideo(clip, limits({ maxDurationSec: 2 })), 'too_long', /over the limit of 2 s/);
  await rejects(probeVideo(clip, limits({ maxBytes: 1000 })), 'too_large', /over the limit of 1000 bytes/);
  await rejects(probeVideo(clip, limits({ maxLongSidePx: 320 })), 'resolution_too_high', /640×360/);
  await rejects(probeVideo(clip, limits({ maxShortSidePx: 200 })), 'resolution_too_high');
  // Orientation-free: the same clip passes a portrait-style limit pair.
  await probeVideo(clip, limits({ maxLongSidePx: 640, maxShortSidePx: 360 }));
});

test('a text HLS playlist renamed .mp4 that lists a local file is refused without opening it', async () => {
  const segment = fx.path('segment.ts');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'libx264', '-f', 'mpegts', segment]);
  const playlist = fx.path('upload.mp4');
  await writeFile(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://${segment}\n#EXT-X-ENDLIST\n`);
  // The attack is real: without the demuxer whitelist, ffprobe opens the playlist as HLS and reads the local file.
  const open = ffprobe(['-protocol_whitelist', 'file', '-show_entries', 'format=format_name:stream=codec_name', '-of', 'csv=p=0', playlist]);
  assert.match(open.stdout, /h264/, `unrestricted ffprobe did not follow the playlist: ${open.stderr}`);
  assert.match(open.stdout, /hls/);
  // With our probe it is refused as a container.
  await rejects(probeVideo(playlist, DEFAULT_VIDEO_LIMITS), 'unsupported_container', /"hls"/);
});

test('a text HLS playlist renamed .mp4 that lists an http:// URL is refused without any request', async () => {
  const segment = fx.path('remote-segment.ts');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'libx264', '-f', 'mpegts', segment]);
  const body = await readFile(segment);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exfil/segment.ts`;
    const playlist = fx.path('remote.mp4');
    await writeFile(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${url}\n#EXT-X-ENDLIST\n`);
    // The attack is real: ffprobe with network protocols allowed (a local playlist's segments otherwise inherit
    // `file,crypto,data`) fetches the URL the playlist lists (async, so the server can answer).
    await new Promise<void>((resolve) => execFile('ffprobe', ['-v', 'error', '-protocol_whitelist', 'file,http,tcp', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', playlist], { timeout: 20_000 }, () => resolve()));
    assert.ok(requests.length >= 1, 'unrestricted ffprobe followed the URL');
    const seen = requests.length;
    await rejects(probeVideo(playlist, DEFAULT_VIDEO_LIMITS), 'unsupported_container', /"hls"/);
    assert.is(requests.length, seen, 'our probe made no request');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('a valid MP4 with a garbled header (moov contents overwritten) → corrupt_video', async () => {
  const ok = fx.path('header-ok.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-movflags', '+faststart', ok]);
  await probeVideo(ok, DEFAULT_VIDEO_LIMITS);
  const garbled = await garbleMoov(ok, fx.path('header-garbled.mp4'));
  await rejects(probeVideo(garbled, DEFAULT_VIDEO_LIMITS), 'corrupt_video', /header/);
});

test('other containers and codecs are refused with their own codes', async () => {
  const avi = fx.path('clip.avi');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'mpeg4', avi]);
  await rejects(probeVideo(avi, DEFAULT_VIDEO_LIMITS), 'unsupported_container', /"avi"/);
  const mpeg4 = fx.path('mpeg4.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'mpeg4', mpeg4]);
  await rejects(probeVideo(mpeg4, DEFAULT_VIDEO_LIMITS), 'unsupported_codec', /"mpeg4"/);
  const noise = fx.path('noise.mp4');
  await writeFile(noise, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  await rejects(probeVideo(noise, DEFAULT_VIDEO_LIMITS), 'not_a_video');
});

test('an MP4 cut before its trailing moov atom → corrupt_video, not not_a_video', async () => {
  const full = fx.path('moov-at-end.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', full]); // no +faststart
  const cut = await truncateCopy(full, fx.path('moov-at-end-cut.mp4'), 20_000);
  await rejects(probeVideo(cut, DEFAULT_VIDEO_LIMITS), 'corrupt_video');
});

test('an MP4 cut exactly at a packet boundary → corrupt_video by the early end of data', async () => {
  const clip = await makeClip(fx.path('boundary.mp4'), { seconds: 6, audio: false });
  const cut = await truncateCopy(clip, fx.path('boundary-cut.mp4'), packetBoundaryOffset(clip, 0.4));
  const p = await probeVideo(cut, DEFAULT_VIDEO_LIMITS);
  await rejects(checkDecodes(cut, p, { timeoutMs: 30_000 }), 'corrupt_video', /looks truncated/);
});

test('validateProbe: cover art is not a video stream; missing duration is corrupt', () => {
  const coverArt = {
    format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '3.0' },
    streams: [
      { index: 0, codec_type: 'audio', codec_name: 'aac' },
      { index: 1, codec_type: 'video', codec_name: 'mjpeg', width: 600, height: 600, disposition: { attached_pic: 1 } },
    ],
  };
  assert.throws(() => validateProbe(coverArt, 1000, DEFAULT_VIDEO_LIMITS), (e: unknown) => e instanceof BadVideoError && e.code === 'no_video_stream' && /cover art/.test(e.message));
  const noDuration = { format: { format_name: 'matroska,webm', duration: 'N/A' }, streams: [{ index: 0, codec_type: 'video', codec_name: 'vp9', width: 10, height: 10 }] };
  assert.throws(() => validateProbe(noDuration, 1000, DEFAULT_VIDEO_LIMITS), (e: unknown) => e instanceof BadVideoError && e.code === 'corrupt_video');
});

test('no ffprobe/ffmpeg process is left running', () => {
  assert.is(activeToolCount(), 0);
});

test.run();
