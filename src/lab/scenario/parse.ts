// Parser and validator of scenario files (YAML): the `cluster:` section with
// its defaults, then `steps:`. Every malformed step is reported with its file,
// index, key and field; unknown keys are rejected. `include: FILE` splices the
// steps of another file (a fixture, e.g. the x/y/z a/b/c pods) in place, and
// `apply: {file: FILE}` applies the objects of a YAML file; both paths are
// relative to the including file.

import { readFileSync } from 'node:fs';
import { dirname, join, isAbsolute } from 'node:path';
import { parseDocument } from 'yaml';
import { DEFAULT_CLUSTER_SPEC, type ClusterSpec } from './cluster.js';
import { ScenarioError, show, type ScenarioErrorWhere } from './errors.js';
import { Fields, isMapping } from './fields.js';
import { checkApplyText, parseStepBody, stepKeyOf } from './parse-steps.js';
import type { Scenario, Step, StepBody, StepSource } from './types.js';

export interface ParseOptions {
  /** Reads an included file (default: fs.readFileSync as UTF-8). */
  readFile?: (path: string) => string;
}

const MAX_INCLUDE_DEPTH = 8;

export function parseScenarioFile(path: string, opts: ParseOptions = {}): Scenario {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new ScenarioError({ file: path }, `cannot be read: ${(err as Error).message}`);
  }
  return parseScenarioText(text, path, { readFile: read });
}

export function parseScenarioText(text: string, file: string, opts: ParseOptions = {}): Scenario {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const top = Fields.of(loadYaml(text, file), { file }, 'a scenario file');
  top.only(['cluster', 'steps', 'description']);
  if (top.has('description')) top.string('description');
  const cluster = parseCluster(top.raw('cluster'), file);
  const steps: Step[] = [];
  collectSteps(top.raw('steps'), file, read, steps, [file]);
  return { file, cluster, steps };
}

function loadYaml(text: string, file: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ScenarioError({ file }, `is not valid YAML: ${doc.errors[0].message}`);
  return doc.toJS();
}

export function parseCluster(value: unknown, file: string): ClusterSpec {
  const f = Fields.of(value, { file, key: 'cluster' }, 'cluster', true);
  f.only(['nodes', 'secondSubnet', 'agentArgs', 'externalPeer', 'dualStack']);
  const nodes = f.has('nodes') ? f.int('nodes', 1, 20) : DEFAULT_CLUSTER_SPEC.nodes;
  const secondSubnet = f.bool('secondSubnet', DEFAULT_CLUSTER_SPEC.secondSubnet);
  if (secondSubnet && nodes < 2) f.fail('secondSubnet', 'needs at least 2 nodes');
  const dualStack = f.bool('dualStack', false);
  return {
    ...(dualStack ? { dualStack } : {}),
    nodes,
    secondSubnet,
    agentArgs: [...f.stringList('agentArgs', [...DEFAULT_CLUSTER_SPEC.agentArgs])],
    externalPeer: f.bool('externalPeer', DEFAULT_CLUSTER_SPEC.externalPeer),
  };
}

function collectSteps(value: unknown, file: string, read: (p: string) => string, out: Step[], stack: string[]): void {
  if (value === undefined || value === null) throw new ScenarioError({ file, field: 'steps' }, 'is required');
  if (!Array.isArray(value)) throw new ScenarioError({ file, field: 'steps' }, `must be a list, got ${show(value)}`);
  value.forEach((raw, i) => {
    const source: StepSource = { file, index: i + 1 };
    const where: ScenarioErrorWhere = { file, step: i + 1 };
    const key = stepKeyOf(raw, where);
    const w = { ...where, key };
    const body = (raw as Record<string, unknown>)[key];
    if (key === 'include') {
      const path = includePath(body, w, file);
      if (stack.includes(path)) throw new ScenarioError(w, `includes ${path} again (a cycle: ${stack.join(' -> ')})`);
      if (stack.length >= MAX_INCLUDE_DEPTH) throw new ScenarioError(w, `includes nest deeper than ${MAX_INCLUDE_DEPTH}`);
      const inc = Fields.of(loadYaml(readIncluded(read, path, w), path), { file: path }, 'an included file');
      inc.only(['steps', 'description']);
      collectSteps(inc.raw('steps'), path, read, out, [...stack, path]);
      return;
    }
    let stepBody: StepBody;
    if (key === 'apply' && isMapping(body) && Object.keys(body).length === 1 && 'file' in body) {
      const path = includePath(body.file, { ...w, field: 'file' }, file);
      const text = readIncluded(read, path, { ...w, field: 'file' });
      checkApplyText(text, { file: path, key: 'apply' });
      stepBody = { kind: 'apply', objects: { text } };
    } else {
      stepBody = parseStepBody(key, body, w);
    }
    out.push({ ...stepBody, index: out.length + 1, source });
  });
}

function includePath(value: unknown, where: ScenarioErrorWhere, file: string): string {
  if (typeof value !== 'string' || value === '') throw new ScenarioError(where, `must be a file path, got ${show(value)}`);
  return isAbsolute(value) ? value : join(dirname(file), value);
}

function readIncluded(read: (p: string) => string, path: string, where: ScenarioErrorWhere): string {
  try {
    return read(path);
  } catch (err) {
    throw new ScenarioError(where, `cannot read ${path}: ${(err as Error).message}`);
  }
}
