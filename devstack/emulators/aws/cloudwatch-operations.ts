/**
 * CloudWatch operations (AWS JSON 1.0, target prefix `GraniteServiceVersion20100801`, which
 * @aws-sdk/client-cloudwatch v3.11xx speaks instead of the older Query protocol). Only PutMetricData, with the
 * limits of the CloudWatch API Reference (PutMetricData, MetricDatum): a namespace of 1–255 characters that does
 * not start with `AWS/` (reserved) or `:`; 1–1000 data per request; a metric name of 1–255 characters; at most
 * 30 dimensions (names 1–255, values 1–1024 characters, no name twice); a finite value within ±2^360 (NaN and
 * infinities, which the SDK sends as the strings "NaN"/"Infinity", are refused); `Value` or `StatisticValues`
 * or `Values`, never two of them; at most 150 `Values` with as many `Counts`; a known unit; storage resolution
 * 1 or 60; a timestamp at most two weeks old and two hours ahead (≈, from the User Guide's "Publishing custom
 * metrics"). Errors use CloudWatch's exception names (`InvalidParameterValueException`,
 * `MissingRequiredParameterException`, `InvalidParameterCombinationException`).
 */
import { AwsServiceError, type FieldReader, type JsonObject } from './wire.ts';
import type { AwsState } from './store.ts';
import type { MetricDatapoint, MetricDimension, StatisticSet } from './cloudwatch-store.ts';
import type { Operation } from './ecs-operations.ts';

const INVALID = 'InvalidParameterValueException';
const MISSING = 'MissingRequiredParameterException';
const COMBINATION = 'InvalidParameterCombinationException';

/** Units PutMetricData accepts (CloudWatch API Reference, MetricDatum.Unit). */
export const CLOUDWATCH_UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits',
  'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second',
  'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
] as const;

const MAX_DATA = 1000;
const MAX_DIMENSIONS = 30;
const MAX_VALUES = 150;
const LIMIT = 2 ** 360;
const TWO_WEEKS_MS = 14 * 24 * 3600 * 1000;
const TWO_HOURS_MS = 2 * 3600 * 1000;

function required(r: FieldReader, name: string): void {
  if (!r.has(name)) throw new AwsServiceError(MISSING, `The parameter ${r.path(name)} is required.`);
}

/** A datum value: finite and within ±2^360 (0 allowed; magnitudes below 2^-360 refused too). */
function checkValue(r: FieldReader, name: string, v: number): number {
  const a = Math.abs(v);
  if (a > LIMIT || (a !== 0 && a < 1 / LIMIT)) r.fail(name, `must be 0 or have a magnitude within 2^-360 and 2^360, but was ${v}.`);
  return v;
}

function number(r: FieldReader, name: string): number {
  const raw = r.raw[name];
  if (typeof raw === 'string') r.fail(name, `must be a finite number, but was ${raw} (NaN and infinities are not supported).`);
  return checkValue(r, name, r.num(name, { required: true })!);
}

function numberList(r: FieldReader, name: string): number[] | undefined {
  const v = r.raw[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) r.fail(name, 'must be a list of numbers.');
  if (v.length > MAX_VALUES) r.fail(name, `can have at most ${MAX_VALUES} items.`);
  return v.map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) r.fail(`${name}[${i}]`, `must be a finite number, but was ${String(x)}.`);
    return checkValue(r, `${name}[${i}]`, x);
  });
}

function dimensions(r: FieldReader): MetricDimension[] {
  const list = r.objList('Dimensions') ?? [];
  if (list.length > MAX_DIMENSIONS) r.fail('Dimensions', `can have at most ${MAX_DIMENSIONS} items.`);
  const seen = new Set<string>();
  return list.map((d) => {
    required(d, 'Name');
    required(d, 'Value');
    const name = d.str('Name', { required: true, maxLength: 255 });
    const value = d.str('Value', { required: true, maxLength: 1024 });
    if (seen.has(name)) d.fail('Name', `repeats dimension ${name}: each dimension name may appear once.`);
    seen.add(name);
    return { name, value };
  });
}

function statisticSet(r: FieldReader): StatisticSet | undefined {
  const s = r.obj2('StatisticValues');
  if (!s) return undefined;
  for (const k of ['SampleCount', 'Sum', 'Minimum', 'Maximum']) required(s, k);
  const set = { sampleCount: number(s, 'SampleCount'), sum: number(s, 'Sum'), minimum: number(s, 'Minimum'), maximum: number(s, 'Maximum') };
  if (set.minimum > set.maximum) s.fail('Minimum', `must be <= Maximum (${set.maximum}), but was ${set.minimum}.`);
  if (set.sampleCount <= 0) s.fail('SampleCount', `must be > 0, but was ${set.sampleCount}.`);
  return set;
}

function timestampMs(r: FieldReader, nowMs: number): number {
  const raw = r.raw.Timestamp;
  if (raw === undefined || raw === null) return nowMs;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) r.fail('Timestamp', 'must be epoch seconds (a number).');
  const ms = Math.round(raw * 1000);
  if (ms < nowMs - TWO_WEEKS_MS) r.fail('Timestamp', `must be at most two weeks in the past, but was ${new Date(ms).toISOString()}.`);
  if (ms > nowMs + TWO_HOURS_MS) r.fail('Timestamp', `must be at most two hours in the future, but was ${new Date(ms).toISOString()}.`);
  return ms;
}

function datum(state: AwsState, namespace: string, r: FieldReader, nowMs: number): MetricDatapoint {
  required(r, 'MetricName');
  const metricName = r.str('MetricName', { required: true, maxLength: 255 });
  const given = ['Value', 'StatisticValues', 'Values'].filter((k) => r.has(k));
  if (given.length > 1) throw new AwsServiceError(COMBINATION, `${r.path(given[1]!)} cannot be used together with ${given[0]}.`);
  const value = r.has('Value') ? number(r, 'Value') : undefined;
  const statisticValues = statisticSet(r);
  const values = numberList(r, 'Values');
  const counts = numberList(r, 'Counts');
  if (counts && !values) throw new AwsServiceError(COMBINATION, `${r.path('Counts')} needs Values.`);
  if (counts && values && counts.length !== values.length) r.fail('Counts', `must have as many items as Values (${values.length}), but has ${counts.length}.`);
  const resolution = r.int('StorageResolution') ?? 60;
  if (resolution !== 1 && resolution !== 60) r.fail('StorageResolution', `must be 1 or 60, but was ${resolution}.`);
  return {
    namespace,
    metricName,
    dimensions: dimensions(r),
    timestampMs: timestampMs(r, nowMs),
    ...(value !== undefined ? { value } : {}),
    ...(statisticValues ? { statisticValues } : {}),
    ...(values ? { values, counts: counts ?? values.map(() => 1) } : {}),
    unit: r.str('Unit', { oneOf: CLOUDWATCH_UNITS }) ?? 'None',
    storageResolution: resolution,
    receivedAtMs: state.now(),
  };
}

const PutMetricData: Operation = (state, r): JsonObject => {
  required(r, 'Namespace');
  const namespace = r.str('Namespace', { required: true, maxLength: 255 });
  if (namespace.startsWith(':')) r.fail('Namespace', `must not start with ":", but was ${namespace}.`);
  if (namespace.startsWith('AWS/')) r.fail('Namespace', `must not start with "AWS/" (reserved for AWS services), but was ${namespace}.`);
  if (r.has('EntityMetricData')) r.fail('EntityMetricData', 'is not supported by the emulator: send MetricData.');
  required(r, 'MetricData');
  const data = r.objList('MetricData', { minItems: 1, max: MAX_DATA })!;
  const nowMs = state.now();
  // Validate everything before storing anything: CloudWatch accepts or refuses a request as a whole.
  const points = data.map((d) => datum(state, namespace, d, nowMs));
  for (const p of points) state.metrics.add(p);
  return {};
};

/** CloudWatch operations by name. */
export const CLOUDWATCH_OPERATIONS: Readonly<Record<string, Operation>> = { PutMetricData };
