/**
 * The CloudWatch part of the AWS emulator's state: every datapoint PutMetricData accepted, as CloudWatch would
 * store it (dimensions as a set, unit `None` when the request gave none, standard resolution by default), for
 * tests and the demo to read back. There is no aggregation into periods: each datum is kept as sent.
 */

/** A metric dimension. */
export interface MetricDimension {
  name: string;
  value: string;
}

/** Aggregated values of one datum (`StatisticValues`). */
export interface StatisticSet {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

/** One accepted datum. */
export interface MetricDatapoint {
  namespace: string;
  metricName: string;
  /** Sorted by name (CloudWatch treats dimensions as a set). */
  dimensions: MetricDimension[];
  /** The datum's `Timestamp`, else the time it was received, epoch ms. */
  timestampMs: number;
  /** `Value`, when the datum carried one. */
  value?: number;
  /** `StatisticValues`, when the datum carried them. */
  statisticValues?: StatisticSet;
  /** `Values` (and `counts`, one per value, 1 each when absent), when the datum carried them. */
  values?: number[];
  counts?: number[];
  /** CloudWatch unit name; `None` when the datum gave none (the service's default). */
  unit: string;
  /** 1 (high resolution) or 60 seconds (standard, the default). */
  storageResolution: 1 | 60;
  /** When the emulator received it, epoch ms. */
  receivedAtMs: number;
}

/** What {@link MetricStore.datapoints} selects; absent members match everything. */
export interface MetricFilter {
  namespace?: string;
  metricName?: string;
  /** Exact dimension set (order does not matter), as CloudWatch matches a metric. */
  dimensions?: readonly MetricDimension[];
}

/** Datapoints kept at most (oldest dropped first), so a long demo cannot grow without bound. */
const MAX_DATAPOINTS = 100_000;

/** Sorts dimensions by name, then value. */
export function sortedDimensions(d: readonly MetricDimension[]): MetricDimension[] {
  return [...d].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/** Accepted datapoints, oldest first. */
export class MetricStore {
  private points: MetricDatapoint[] = [];

  /** Stores one datum (dimensions are sorted here). */
  add(p: MetricDatapoint): void {
    this.points.push({ ...p, dimensions: sortedDimensions(p.dimensions) });
    if (this.points.length > MAX_DATAPOINTS) this.points = this.points.slice(-MAX_DATAPOINTS);
  }

  /** The datapoints matching `filter`, oldest first (copies). */
  datapoints(filter: MetricFilter = {}): MetricDatapoint[] {
    const want = filter.dimensions ? JSON.stringify(sortedDimensions(filter.dimensions)) : undefined;
    return this.points
      .filter((p) => (filter.namespace === undefined || p.namespace === filter.namespace)
        && (filter.metricName === undefined || p.metricName === filter.metricName)
        && (want === undefined || JSON.stringify(p.dimensions) === want))
      .map((p) => structuredClone(p));
  }

  /** Number of datapoints stored. */
  get size(): number {
    return this.points.length;
  }

  /** Forgets every datapoint. */
  clear(): void {
    this.points = [];
  }
}
