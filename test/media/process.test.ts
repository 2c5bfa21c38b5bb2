/**
 * The tool runner: timeouts and aborts kill the process, stdout capture is bounded, failures carry stderr.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { activeToolCount, runTool, ToolAbortedError, ToolExitError, ToolOutputTooLargeError, ToolTimeoutError } from '../../services/media/process.ts';

/** ffmpeg that would run forever: an endless test source decoded to nothing. */
const ENDLESS = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'null', '-'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a run past its timeout is killed and rejects with ToolTimeoutError', async () => {
  let pid = 0;
  const started = Date.now();
  try {
    await runTool('ffmpeg', ['-v', 'info', ...ENDLESS], {
      timeoutMs: 400,
      onSpawn: (p) => (pid = p),
    });
    assert.unreachable('endless ffmpeg resolved');
  } catch (err) {
    assert.instance(err, ToolTimeoutError);
    assert.is((err as ToolTimeoutError).code, 'media_timeout');
  }
  assert.ok(Date.now() - started < 10_000);
  assert.is(activeToolCount(), 0);
  assert.ok(pid > 0);
  assert.not.ok(alive(pid), `ffmpeg ${pid} still alive`);
});

test('an abort kills the run and rejects with ToolAbortedError carrying the reason', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('shutting down')), 200);
  try {
    await runTool('ffmpeg', ENDLESS, { timeoutMs: 30_000, signal: ac.signal });
    assert.unreachable('aborted ffmpeg resolved');
  } catch (err) {
    assert.instance(err, ToolAbortedError);
    assert.match((err as Error).message, /shutting down/);
  }
  assert.is(activeToolCount(), 0);
});

test('a non-zero exit rejects with ToolExitError and the stderr tail', async () => {
  try {
    await runTool('ffprobe', ['-v', 'error', 'file:/nonexistent/definitely-missing.mp4'], { timeoutMs: 10_000 });
    assert.unreachable('ffprobe of a missing file resolved');
  } catch (err) {
    assert.instance(err, ToolExitError);
    const e = err as ToolExitError;
    assert.is(e.exitCode, 1);
    assert.match(e.stderrTail, /No such file or directory/);
  }
});

test('captured stdout is bounded', async () => {
  try {
    await runTool('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=duration=5:rate=25', '-show_frames', '-of', 'json'], {
      timeoutMs: 20_000,
      captureStdout: true,
      maxStdoutBytes: 10_000,
    });
    assert.unreachable('oversized output accepted');
  } catch (err) {
    assert.instance(err, ToolOutputTooLargeError);
  }
  assert.is(activeToolCount(), 0);
});

test.run();
