// Parsing of one step of a scenario file: a mapping with exactly one key
// naming its kind (`probe`, `apply`, ...), whose value holds its fields.

import { parseAllDocuments } from 'yaml';
import { ScenarioError, show, type ScenarioErrorWhere } from './errors.js';
import { Fields, isMapping, type Mapping } from './fields.js';
import { parseMatrix } from './matrix.js';
import { blankTemplates, scanTemplates } from './template.js';
import type { ObjectRef } from './cluster.js';
import type { ApplySource, StepBody } from './types.js';

export const STEP_KEYS = [
  'apply',
  'delete',
  'settle',
  'probe',
  'matrix',
  'exec',
  'hold',
  'release',
  'restart',
  'stop',
  'start',
  'sleep',
  'include',
] as const;
export type StepKey = (typeof STEP_KEYS)[number];

export const DEFAULT_PROBE_TIMEOUT_MS = 1000;
export const DEFAULT_SETTLE_TIMEOUT_MS = 60_000;
export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_GAP_MS = 1000;

/** Reads the key of a step mapping; `where` names the file and the step index. */
export function stepKeyOf(raw: unknown, where: ScenarioErrorWhere): StepKey {
  if (!isMapping(raw)) throw new ScenarioError(where, `must be a mapping with one key (${STEP_KEYS.join(', ')}), got ${show(raw)}`);
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    throw new ScenarioError(where, `must have exactly one key (${STEP_KEYS.join(', ')}), got ${keys.length === 0 ? 'none' : keys.join(', ')}`);
  }
  const key = keys[0];
  if (!(STEP_KEYS as readonly string[]).includes(key)) {
    throw new ScenarioError(where, `unknown step '${key}' (known: ${STEP_KEYS.join(', ')})`);
  }
  return key as StepKey;
}

/** Parses the value of a step whose key is not `include` (the file parser handles that one). */
export function parseStepBody(key: Exclude<StepKey, 'include'>, value: unknown, where: ScenarioErrorWhere): StepBody {
  switch (key) {
    case 'apply':
      return { kind: 'apply', objects: parseApply(value, where) };
    case 'delete':
      return { kind: 'delete', refs: parseDelete(value, where) };
    case 'settle': {
      const f = Fields.of(value, where, 'settle', true).only(['timeout']);
      return { kind: 'settle', timeoutMs: f.duration('timeout', DEFAULT_SETTLE_TIMEOUT_MS) };
    }
    case 'probe':
      return parseProbe(Fields.of(value, where, 'probe'));
    case 'matrix': {
      const f = Fields.of(value, where, 'matrix');
      return { kind: 'matrix', cells: parseMatrix(f), timeoutMs: f.duration('timeout', DEFAULT_PROBE_TIMEOUT_MS) };
    }
    case 'exec':
      return parseExec(Fields.of(value, where, 'exec'));
    case 'hold': {
      const f = Fields.of(value, where, 'hold').only(['name', 'from', 'to', 'port']);
      const to = f.string('to');
      checkTemplates(f, 'to', to);
      return { kind: 'hold', name: f.string('name'), from: f.string('from'), to, port: f.optInt('port', 1, 65535) };
    }
    case 'release': {
      const f = Fields.of(value, where, 'release').only(['name', 'expect', 'maxGap']);
      return {
        kind: 'release',
        name: f.string('name'),
        expect: f.oneOf('expect', ['unbroken', 'broken'] as const),
        maxGapMs: f.duration('maxGap', DEFAULT_MAX_GAP_MS),
      };
    }
    case 'restart':
      return parseRestart(Fields.of(value, where, 'restart'));
    case 'stop': {
      const f = Fields.of(value, where, 'stop').only(['agent']);
      return { kind: 'stop', node: f.string('agent') };
    }
    case 'start': {
      const f = Fields.of(value, where, 'start').only(['agent', 'args', 'wait', 'expectExit']);
      const wait = f.oneOf('wait', ['exit', 'running'] as const, 'running');
      const expectExit = f.optInt('expectExit', 0, 255);
      if (wait === 'running' && expectExit !== undefined) f.fail('expectExit', 'needs wait: exit');
      return {
        kind: 'start',
        node: f.string('agent'),
        args: f.stringList('args', []),
        wait,
        expectExit: wait === 'exit' ? (expectExit ?? 0) : undefined,
      };
    }
    case 'sleep': {
      const f = new Fields({ sleep: value }, where);
      return { kind: 'sleep', ms: f.duration('sleep', 0) };
    }
  }
}

function parseProbe(f: Fields): StepBody {
  f.only(['from', 'to', 'port', 'protocol', 'expect', 'body', 'timeout', 'repeat', 'bodies', 'sameBody']);
  const to = f.string('to');
  checkTemplates(f, 'to', to);
  const port = f.optInt('port', 1, 65535);
  if (port === undefined && !to.startsWith('service:') && !to.startsWith('nodeport:')) {
    f.fail('port', `is required when 'to' is not a service: or nodeport: target`);
  }
  const body = f.optString('body');
  if (body !== undefined) checkTemplates(f, 'body', body);
  const bodies = f.has('bodies') ? f.stringList('bodies') : undefined;
  for (const b of bodies ?? []) checkTemplates(f, 'bodies', b);
  const expect = f.oneOf('expect', ['allow', 'deny'] as const);
  const sameBody = f.bool('sameBody', false);
  if (expect === 'deny' && (body !== undefined || bodies !== undefined || sameBody)) {
    f.fail(body !== undefined ? 'body' : bodies !== undefined ? 'bodies' : 'sameBody', 'applies to expect: allow only');
  }
  return {
    kind: 'probe',
    probe: {
      from: f.string('from'),
      to,
      port,
      protocol: f.protocol('protocol'),
      expect,
      body,
      timeoutMs: f.duration('timeout', DEFAULT_PROBE_TIMEOUT_MS),
      repeat: f.optInt('repeat', 1, 1000),
      bodies,
      sameBody: sameBody || undefined,
    },
  };
}

function parseExec(f: Fields): StepBody {
  f.only(['on', 'cmd', 'expect', 'expectNot', 'expectExit', 'timeout']);
  const expect = f.optString('expect');
  const expectNot = f.optString('expectNot');
  if (expect !== undefined) checkRegex(f, 'expect', expect);
  if (expectNot !== undefined) checkRegex(f, 'expectNot', expectNot);
  const cmd = f.string('cmd');
  checkTemplates(f, 'cmd', cmd);
  return {
    kind: 'exec',
    on: f.string('on'),
    cmd,
    expect,
    expectNot,
    expectExit: f.optInt('expectExit', 0, 255) ?? 0,
    timeoutMs: f.duration('timeout', DEFAULT_EXEC_TIMEOUT_MS),
  };
}

function parseRestart(f: Fields): StepBody {
  f.only(['agent', 'signal', 'apiserver', 'downFor']);
  if (f.has('agent') === f.has('apiserver')) f.fail('agent', 'give exactly one of agent and apiserver');
  if (f.has('agent')) {
    if (f.has('downFor')) f.fail('downFor', 'applies to apiserver only');
    return { kind: 'restart-agent', node: f.string('agent'), signal: f.oneOf('signal', ['TERM', 'KILL'] as const, 'TERM') };
  }
  if (f.raw('apiserver') !== true) f.fail('apiserver', `must be true, got ${show(f.raw('apiserver'))}`);
  if (f.has('signal')) f.fail('signal', 'applies to agent only');
  return { kind: 'restart-apiserver', downForMs: f.duration('downFor', 0) };
}

/** Text where templates ({{ip ns/pod}}, {{vip A.B.C.D}}...) are allowed: every one must parse. */
function checkTemplates(f: Fields, key: string, source: string): void {
  try {
    scanTemplates(source);
  } catch (err) {
    f.fail(key, (err as Error).message);
  }
}

/** A regular expression that may hold templates (their values are escaped when substituted). */
function checkRegex(f: Fields, key: string, source: string): void {
  checkTemplates(f, key, source);
  try {
    new RegExp(blankTemplates(source, 'x'));
  } catch (err) {
    f.fail(key, `is not a valid regular expression: ${(err as Error).message}`);
  }
}

function parseDelete(value: unknown, where: ScenarioErrorWhere): ObjectRef[] {
  const list = isMapping(value) ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ScenarioError(where, `delete must be a non-empty list of {kind, namespace, name}, got ${show(value)}`);
  }
  return list.map((item, i) => {
    const f = Fields.of(item, where, `item ${i + 1}`);
    const g = new Fields(f.obj, where, `[${i + 1}].`).only(['kind', 'namespace', 'name']);
    return { kind: g.string('kind'), namespace: g.optString('namespace'), name: g.string('name') };
  });
}

/** apply: YAML text (multi-document), a list of objects, one object, or {file: path} (resolved by the file parser). */
function parseApply(value: unknown, where: ScenarioErrorWhere): ApplySource {
  if (typeof value === 'string') {
    checkApplyText(value, where);
    return { text: value };
  }
  const values = Array.isArray(value) ? value : [value];
  values.forEach((v, i) => checkObject(v, { ...where, field: values.length > 1 ? `[${i + 1}]` : undefined }));
  for (const v of values) checkTemplatesIn(v, where);
  return { values };
}

/** Validates YAML text with templates: every template parses, and the text (templates blanked) is a list of objects. */
export function checkApplyText(text: string, where: ScenarioErrorWhere): void {
  let blanked = text;
  try {
    blanked = text.replace(/\{\{[^{}]*\}\}/g, '0.0.0.0');
    scanTemplates(text);
  } catch (err) {
    throw new ScenarioError(where, (err as Error).message);
  }
  const docs = parseAllDocuments(blanked);
  if (!Array.isArray(docs)) throw new ScenarioError(where, 'is not YAML documents');
  let n = 0;
  docs.forEach((doc) => {
    if (doc.errors.length > 0) throw new ScenarioError(where, `does not parse as YAML: ${doc.errors[0].message}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) return;
    n++;
    checkObject(v, { ...where, field: `document ${n}` });
  });
  if (n === 0) throw new ScenarioError(where, 'holds no objects');
}

function checkObject(v: unknown, where: ScenarioErrorWhere): void {
  if (!isMapping(v)) throw new ScenarioError(where, `must be a Kubernetes object (a mapping), got ${show(v)}`);
  const meta: Mapping | undefined = isMapping(v.metadata) ? v.metadata : undefined;
  if (typeof v.apiVersion !== 'string') throw new ScenarioError(where, "has no 'apiVersion'");
  if (typeof v.kind !== 'string') throw new ScenarioError(where, "has no 'kind'");
  if (meta === undefined || typeof meta.name !== 'string') {
    throw new ScenarioError(where, `${v.kind} has no 'metadata.name'`);
  }
}

function checkTemplatesIn(v: unknown, where: ScenarioErrorWhere): void {
  if (typeof v === 'string') {
    try {
      scanTemplates(v);
    } catch (err) {
      throw new ScenarioError(where, (err as Error).message);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) checkTemplatesIn(x, where);
  } else if (isMapping(v)) {
    for (const x of Object.values(v)) checkTemplatesIn(x, where);
  }
}
