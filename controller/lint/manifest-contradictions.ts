/**
 * `trendctl lint`'s rules: contradictions between a desired-state document and the Copilot manifests of the
 * same environment (`copilot/<svc>/manifest.yml` merged with its `environments.<env>` override, as Copilot
 * deploys it; reference/copilot-manifests.md). Each finding points at both sides, `file:line:column /pointer`.
 *
 * Rules (a field is compared only when both sides set it):
 * - a service in one and not the other (desired `spec.ecs.services.<key>` ↔ `copilot/<key>/`);
 * - autoscaling vs `count.range`: min and max must be equal; a desired max above the manifest's range is called
 *   out as such (Copilot's next deploy would reset it); a fixed count on one side and a range on the other;
 *   two fixed counts that differ; `targetCpuPercent` vs `count.cpu_percentage`;
 * - task size: `taskDefinition.cpu` / `memory` vs the manifest's `cpu` / `memory`;
 * - ECS Exec: `enableExecuteCommand` vs `exec`.
 * Pure: the caller loads the files.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { environmentView, whereInView, type CopilotApp, type CopilotService } from '../../services/platform/copilot-manifests.ts';
import type { YamlSource } from '../../services/platform/yaml-source.ts';

/** One contradiction. */
export interface LintFinding {
  /** Desired-state side: `file:line:column /pointer`. */
  desired: string;
  /** Manifest side: `file:line:column /pointer`, or the missing path. */
  manifest: string;
  message: string;
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The manifest's count as Copilot reads it: a number, or a range (`"1-4"` or `{min, max}`) with an optional CPU target. */
function countOf(count: Json): { fixed?: number; range?: [number, number]; cpuPercent?: number } {
  if (typeof count === 'number') return { fixed: count };
  if (!isObject(count)) return {};
  const cpuPercent = typeof count.cpu_percentage === 'number' ? count.cpu_percentage : undefined;
  const r = count.range;
  let range: [number, number] | undefined;
  if (typeof r === 'string') {
    const m = /^(\d+)-(\d+)$/.exec(r.trim());
    if (m) range = [Number(m[1]), Number(m[2])];
  } else if (isObject(r) && typeof r.min === 'number' && typeof r.max === 'number') range = [r.min, r.max];
  return { ...(range ? { range } : {}), ...(cpuPercent !== undefined ? { cpuPercent } : {}) };
}

/** `exec: true` or `exec: { enable: true, … }` (Copilot accepts both). */
function execOf(exec: Json): boolean | undefined {
  if (typeof exec === 'boolean') return exec;
  if (isObject(exec)) return exec.enable === undefined ? true : exec.enable === true;
  return undefined;
}

/**
 * Finds every contradiction.
 * @param source the desired-state YAML source (positions), `desired` its validated value.
 * @param variables for `${VAR}` in manifests (unset ones stay literal and are then not compared).
 * @returns findings sorted by desired-side position, then message.
 */
export function lintAgainstManifests(desired: DesiredState, source: YamlSource, app: CopilotApp, variables: Readonly<Record<string, string>> = {}): LintFinding[] {
  const env = desired.metadata.environment;
  const out: LintFinding[] = [];
  const svcPath = (key: string, ...rest: string[]): string[] => ['spec', 'ecs', 'services', key, ...rest];
  const at = (key: string, ...rest: string[]): string => source.where(svcPath(key, ...rest), { key: rest.length === 0 });
  const byName = new Map<string, CopilotService>(app.services.map((s) => [s.name, s]));

  for (const key of Object.keys(desired.spec.ecs.services)) {
    if (!byName.has(key)) {
      out.push({ desired: at(key), manifest: `copilot/${key}/manifest.yml (missing)`, message: `service "${key}" is in the desired state but has no Copilot manifest` });
    }
  }
  for (const svc of app.services) {
    const spec = desired.spec.ecs.services[svc.name];
    const m = (path: string[], key = false): string => whereInView(svc, env, path, key);
    if (!spec) {
      out.push({ desired: source.where(['spec', 'ecs', 'services'], { key: true }), manifest: m(['name']), message: `service "${svc.name}" has a Copilot manifest but is not in the desired state` });
      continue;
    }
    const view = environmentView(app, svc, env, variables).manifest;
    const count = countOf(view.count);
    const a = spec.autoscaling;
    if (a && count.range) {
      const [min, max] = count.range;
      if (a.min !== min) out.push({ desired: at(svc.name, 'autoscaling', 'min'), manifest: m(['count', 'range']), message: `${svc.name}: autoscaling min ${a.min} differs from the manifest's count.range min ${min}` });
      if (a.max > max) {
        out.push({ desired: at(svc.name, 'autoscaling', 'max'), manifest: m(['count', 'range']), message: `${svc.name}: desired max ${a.max} is above the manifest's count.range (${min}-${max}); the next copilot svc deploy sets it back to ${max}` });
      } else if (a.max !== max) {
        out.push({ desired: at(svc.name, 'autoscaling', 'max'), manifest: m(['count', 'range']), message: `${svc.name}: autoscaling max ${a.max} differs from the manifest's count.range max ${max}` });
      }
      if (a.targetCpuPercent !== undefined && count.cpuPercent !== undefined && a.targetCpuPercent !== count.cpuPercent) {
        out.push({ desired: at(svc.name, 'autoscaling', 'targetCpuPercent'), manifest: m(['count', 'cpu_percentage']), message: `${svc.name}: targetCpuPercent ${a.targetCpuPercent} differs from the manifest's count.cpu_percentage ${count.cpuPercent}` });
      }
    } else if (a && count.fixed !== undefined) {
      out.push({ desired: at(svc.name, 'autoscaling'), manifest: m(['count']), message: `${svc.name}: the desired state autoscales (${a.min}-${a.max}) but the manifest sets a fixed count ${count.fixed}` });
    } else if (spec.desiredCount !== undefined && count.range) {
      out.push({ desired: at(svc.name, 'desiredCount'), manifest: m(['count', 'range']), message: `${svc.name}: the desired state sets a fixed desiredCount ${spec.desiredCount} but the manifest autoscales (${count.range[0]}-${count.range[1]})` });
    } else if (spec.desiredCount !== undefined && count.fixed !== undefined && spec.desiredCount !== count.fixed) {
      out.push({ desired: at(svc.name, 'desiredCount'), manifest: m(['count']), message: `${svc.name}: desiredCount ${spec.desiredCount} differs from the manifest's count ${count.fixed}` });
    }
    for (const field of ['cpu', 'memory'] as const) {
      const want = spec.taskDefinition?.[field];
      const have = view[field];
      if (want !== undefined && typeof have === 'number' && want !== have) {
        out.push({ desired: at(svc.name, 'taskDefinition', field), manifest: m([field]), message: `${svc.name}: taskDefinition.${field} ${want} differs from the manifest's ${field} ${have}` });
      }
    }
    const exec = execOf(view.exec);
    if (spec.enableExecuteCommand !== undefined && exec !== undefined && spec.enableExecuteCommand !== exec) {
      out.push({ desired: at(svc.name, 'enableExecuteCommand'), manifest: m(['exec']), message: `${svc.name}: enableExecuteCommand ${spec.enableExecuteCommand} differs from the manifest's exec ${exec}` });
    }
  }
  const pos = (w: string): [number, number] => {
    const mm = /:(\d+):(\d+)/.exec(w);
    return mm ? [Number(mm[1]), Number(mm[2])] : [0, 0];
  };
  return out.sort((x, y) => pos(x.desired)[0] - pos(y.desired)[0] || pos(x.desired)[1] - pos(y.desired)[1] || (x.message < y.message ? -1 : x.message > y.message ? 1 : 0));
}
