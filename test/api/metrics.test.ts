/**
 * Prometheus metrics on their own listener (API_METRICS_PORT): request counts and latency by route pattern and
 * status, with bounded labels, never served on the public API port.
 */
import { suite } from 'uvu';
import { request as httpRequest } from 'node:http';
import * as assert from 'uvu/assert';
import { serveMetrics } from '../../services/platform/metrics-server.ts';
import { createLogger } from '../../services/platform/logger.ts';
import { startApiHarness, type ApiHarness } from './api-harness.ts';

const h: ApiHarness = await startApiHarness('api-metrics');
const server = await serveMetrics(h.api.metrics, createLogger('api', 'silent'), '127.0.0.1', 0);
const token = await h.token('analyses:read');

/** Scrapes until `pattern` matches (the observation is made when the response's socket event fires), up to 5 s. */
async function scrapeUntil(pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${text.slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const scrape = suite('GET /metrics on API_METRICS_PORT');

scrape('counts requests by method, route pattern and status, with a latency histogram', async () => {
  for (const id of ['an_00000000000000000000000000000001', 'an_00000000000000000000000000000002']) {
    assert.is((await h.call('GET', `/v1/analyses/${id}`, { token })).status, 404);
  }
  assert.is((await h.call('GET', '/healthz')).status, 200);
  assert.is((await h.call('GET', '/v1/analyses')).status, 401);
  const text = await scrapeUntil(/api_http_requests_total\{method="GET",route="\/v1\/analyses\/:id",status="404"\} 2\b/);
  assert.match(text, /api_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1\b/);
  assert.match(text, /api_http_request_duration_seconds_bucket\{le="0\.2",method="GET",route="\/v1\/analyses\/:id",status="404"\} \d+/);
  assert.match(text, /api_http_request_duration_seconds_count\{method="GET",route="\/v1\/analyses\/:id",status="404"\} 2\b/);
});

scrape('a client gone mid-body counts as 499, as the access log says, not as a 404', async () => {
  await new Promise<void>((resolve) => {
    const req = httpRequest(`${h.baseUrl}/v1/analyses`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': '1000' } });
    req.on('error', () => resolve());
    req.write('{"videoKey": "uploads/');
    setTimeout(() => req.destroy(), 200);
  });
  const text = await scrapeUntil(/api_http_requests_total\{method="POST",route="unmatched",status="499"\} 1\b/);
  assert.not.match(text, /method="POST",route="unmatched",status="404"/);
});

scrape('paths no route matched share one label, so clients cannot grow the label set; no ids or tokens appear', async () => {
  for (const p of ['/v1/x-1', '/v1/x-2', '/v1/x-3']) assert.is((await h.call('GET', p, { token })).status, 404);
  const text = await scrapeUntil(/api_http_requests_total\{method="GET",route="unmatched",status="404"\} 3\b/);
  assert.not.match(text, /an_0{20}/);
  assert.not.match(text, /x-1|x-2/);
  assert.not.ok(text.includes(token.split('.')[2] ?? 'none'));
});

scrape('the metrics listener serves nothing else, and the public port does not serve /metrics', async () => {
  const r = await fetch(`${server.url}/metrics`);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.is((await fetch(`${server.url}/v1/analyses`)).status, 404);
  assert.is((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 404);
  assert.is((await h.call('GET', '/metrics')).status, 401, 'the public API asks for a token');
  assert.is((await h.call('GET', '/metrics', { token })).status, 404, 'and has no such route');
  assert.is.not(server.port, h.server.port);
});

scrape.after(async () => {
  await server.close(1000);
  await h.close();
});

scrape.run();
