/**
 * Checks the CloudFormation addons of one directory (`copilot/<svc>/addons/` or `copilot/environments/addons/`).
 *
 * Copilot merges every template of a directory into one nested stack (aws/copilot-cli internal/pkg/addon/addons.go:
 * logical IDs defined twice must be identical) and passes it App, Env (and Name for a workload) plus the values of
 * `addons.parameters.yml`, which may not redefine those reserved names. So, beyond each file's schema:
 * - the same logical ID with two different definitions across files is a conflict;
 * - every `Ref`, `Fn::GetAtt`, `Fn::Sub` `${...}`, `Fn::If`/`Condition`, `Fn::FindInMap` and `DependsOn` names
 *   something the merged template defines (or a pseudo parameter);
 * - `addons.parameters.yml` has a `Parameters` map, no reserved name, only declared parameters, and a value for
 *   every declared parameter without a `Default` (else CloudFormation refuses the nested stack).
 */
import type { Problem } from '../errors.ts';
import type { PathSegment, YamlSource } from '../yaml-source.ts';
import { isPlainObject, type PlainObject } from './merge.ts';
import { checkAgainstSchema } from './schema-check.ts';

/** Which Copilot parameters an addon directory receives. */
export type AddonKind = 'workload' | 'environment';

/** CloudFormation pseudo parameters (User Guide, "Pseudo parameters reference"). */
const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);

const SECTIONS = ['Parameters', 'Mappings', 'Conditions', 'Resources', 'Outputs'] as const;

/** Parameters Copilot passes itself, by kind. */
export const RESERVED_PARAMETERS: Readonly<Record<AddonKind, readonly string[]>> = {
  workload: ['App', 'Env', 'Name'],
  environment: ['App', 'Env'],
};

interface Namespace {
  parameters: Map<string, PlainObject>;
  resources: Set<string>;
  conditions: Set<string>;
  mappings: Set<string>;
}

function section(template: unknown, name: string): PlainObject {
  return isPlainObject(template) && isPlainObject(template[name]) ? template[name] : {};
}

/**
 * Checks the addon templates and optional parameters file of one directory.
 * @returns problems with `file:line:column /json/pointer` locations.
 */
export function checkAddonDirectory(kind: AddonKind, templates: readonly YamlSource[], parameters: YamlSource | undefined): Problem[] {
  const problems: Problem[] = [];
  const report = (src: YamlSource, path: PathSegment[], message: string, key = false): void => {
    problems.push({ where: src.where(path, { key }), message });
  };

  const defined = new Map<string, { src: YamlSource; json: string }>();
  const ns: Namespace = { parameters: new Map(), resources: new Set(), conditions: new Set(), mappings: new Set() };
  for (const src of templates) {
    problems.push(...src.problems);
    for (const issue of checkAgainstSchema(kind === 'workload' ? 'workload-addon' : 'environment-addon', src.value)) {
      report(src, issue.path, issue.message, issue.key);
    }
    for (const sec of SECTIONS) {
      for (const [id, def] of Object.entries(section(src.value, sec))) {
        const json = JSON.stringify(def);
        const seen = defined.get(`${sec}/${id}`);
        if (seen && seen.json !== json) {
          report(src, [sec, id], `${sec} \`${id}\` is also defined in ${seen.src.file} differently: Copilot merges all templates of this directory into one and rejects the conflict`, true);
        } else if (!seen) defined.set(`${sec}/${id}`, { src, json });
        if (sec === 'Parameters' && isPlainObject(def)) ns.parameters.set(id, def);
        if (sec === 'Resources') ns.resources.add(id);
        if (sec === 'Conditions') ns.conditions.add(id);
        if (sec === 'Mappings') ns.mappings.add(id);
      }
    }
  }
  for (const src of templates) problems.push(...checkReferences(src, ns));
  if (parameters) problems.push(...checkParametersFile(kind, parameters, ns));
  else {
    for (const [name, def] of ns.parameters) {
      if (RESERVED_PARAMETERS[kind].includes(name) || 'Default' in def) continue;
      const src = templates.find((t) => isPlainObject(section(t.value, 'Parameters')[name]))!;
      report(src, ['Parameters', name], `parameter \`${name}\` has no Default and no addons.parameters.yml gives it a value`, true);
    }
  }
  return problems;
}

function checkParametersFile(kind: AddonKind, src: YamlSource, ns: Namespace): Problem[] {
  const problems: Problem[] = [...src.problems];
  const params = isPlainObject(src.value) ? src.value.Parameters : undefined;
  if (!isPlainObject(params)) {
    problems.push({ where: src.where([]), message: 'must define a `Parameters` map (Copilot: "must define field \'Parameters\'")' });
    return problems;
  }
  for (const name of Object.keys(params)) {
    if (RESERVED_PARAMETERS[kind].includes(name)) {
      problems.push({ where: src.where(['Parameters', name], { key: true }), message: `\`${name}\` is reserved: Copilot passes ${RESERVED_PARAMETERS[kind].join(', ')} itself` });
    } else if (!ns.parameters.has(name)) {
      problems.push({ where: src.where(['Parameters', name], { key: true }), message: `\`${name}\` is not a parameter of any addon template in this directory` });
    }
  }
  for (const [name, def] of ns.parameters) {
    if (RESERVED_PARAMETERS[kind].includes(name) || 'Default' in def || name in params) continue;
    problems.push({ where: src.where(['Parameters'], { key: true }), message: `no value for parameter \`${name}\`, which has no Default` });
  }
  return problems;
}

/** Walks one template and reports references to names the merged template does not define. */
function checkReferences(src: YamlSource, ns: Namespace): Problem[] {
  const problems: Problem[] = [];
  const isValueName = (n: string): boolean => ns.parameters.has(n) || ns.resources.has(n) || PSEUDO.has(n);
  const bad = (path: PathSegment[], message: string): void => {
    problems.push({ where: src.where(path), message });
  };

  const walk = (v: unknown, path: PathSegment[]): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i]));
      return;
    }
    if (!isPlainObject(v)) return;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const fn = keys[0]!;
      const arg = v[fn];
      const at = [...path, fn];
      if (fn === 'Ref' && typeof arg === 'string' && !isValueName(arg)) {
        bad(at, `\`Ref\` names \`${arg}\`, which is not a parameter, resource or pseudo parameter of this addon`);
      } else if (fn === 'Fn::GetAtt') {
        const target = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
        if (typeof target === 'string' && !ns.resources.has(target)) bad(at, `\`Fn::GetAtt\` names \`${target}\`, which is not a resource of this addon`);
      } else if (fn === 'Fn::Sub') {
        const text = typeof arg === 'string' ? arg : Array.isArray(arg) ? arg[0] : undefined;
        const local = Array.isArray(arg) && isPlainObject(arg[1]) ? new Set(Object.keys(arg[1])) : new Set<string>();
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([^}]+)\}/g)) {
            const name = m[1]!;
            if (name.startsWith('!') || local.has(name) || PSEUDO.has(name)) continue;
            const dot = name.indexOf('.');
            const ok = dot < 0 ? isValueName(name) : ns.resources.has(name.slice(0, dot));
            if (!ok) bad(at, `\`Fn::Sub\` refers to \`\${${name}}\`, which this addon does not define`);
          }
        }
      } else if ((fn === 'Fn::If' && Array.isArray(arg) && typeof arg[0] === 'string') || (fn === 'Condition' && typeof arg === 'string')) {
        const cond = fn === 'Condition' ? (arg as string) : (arg as string[])[0]!;
        if (!ns.conditions.has(cond)) bad(at, `condition \`${cond}\` is not defined under Conditions`);
      } else if (fn === 'Fn::FindInMap' && Array.isArray(arg) && typeof arg[0] === 'string' && !ns.mappings.has(arg[0])) {
        bad(at, `mapping \`${arg[0]}\` is not defined under Mappings`);
      }
    }
    for (const k of keys) walk(v[k], [...path, k]);
  };

  for (const [id, res] of Object.entries(section(src.value, 'Resources'))) {
    if (!isPlainObject(res)) continue;
    if (typeof res.Condition === 'string' && !ns.conditions.has(res.Condition)) bad(['Resources', id, 'Condition'], `condition \`${res.Condition}\` is not defined under Conditions`);
    const deps = typeof res.DependsOn === 'string' ? [res.DependsOn] : Array.isArray(res.DependsOn) ? res.DependsOn : [];
    deps.forEach((d, i) => {
      if (typeof d === 'string' && !ns.resources.has(d)) bad(['Resources', id, 'DependsOn', ...(typeof res.DependsOn === 'string' ? [] : [i])], `DependsOn names \`${d}\`, which is not a resource of this addon`);
    });
    walk(res.Properties, ['Resources', id, 'Properties']);
  }
  for (const [id, out] of Object.entries(section(src.value, 'Outputs'))) {
    if (!isPlainObject(out)) continue;
    if (typeof out.Condition === 'string' && !ns.conditions.has(out.Condition)) bad(['Outputs', id, 'Condition'], `condition \`${out.Condition}\` is not defined under Conditions`);
    walk(out.Value, ['Outputs', id, 'Value']);
    walk(out.Export, ['Outputs', id, 'Export']);
  }
  walk(section(src.value, 'Conditions'), ['Conditions']);
  return problems;
}
