import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenarioText } from '../../src/lab/scenario/parse.js';
import { ScenarioError } from '../../src/lab/scenario/errors.js';
import { parseDuration } from '../../src/lab/scenario/fields.js';

function parseError(text: string, files: Record<string, string> = {}): ScenarioError {
  try {
    parseScenarioText(text, 's.yaml', { readFile: (p) => fileOrThrow(files, p) });
  } catch (err) {
    assert.ok(err instanceof ScenarioError, `expected a ScenarioError, got ${String(err)}`);
    assert.equal(err.code, 'KR_ERR_LAB');
    return err;
  }
  assert.fail('expected a parse error');
}

function fileOrThrow(files: Record<string, string>, p: string): string {
  const f = files[p];
  if (f === undefined) throw new Error(`ENOENT ${p}`);
  return f;
}

const POD = `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x}`;

test('the issue example parses, with defaults', () => {
  const s = parseScenarioText(
    `cluster:
  nodes: 3
  secondSubnet: false
  agentArgs: ["--run-firewall=true"]
  externalPeer: false
steps:
  - apply: |
      apiVersion: v1
      kind: Namespace
      metadata: {name: x}
  - delete: [{kind: NetworkPolicy, namespace: x, name: deny-all}]
  - settle: {}
  - probe: {from: x/a, to: x/b, port: 80, protocol: TCP, expect: allow}
  - probe: {from: node2, to: "service:default/web", port: 80, expect: allow, body: "default/web-"}
  - probe: {from: node1, to: "nodeport:default/web@node3", expect: allow}
  - probe: {from: x/a, to: "10.96.0.10", port: 53, protocol: UDP, expect: deny}
  - exec: {on: node1, cmd: "ipvsadm -Ln", expect: "10.96.0.1:443"}
  - exec: {on: node1, cmd: "ip link show kube-dummy-if", expectExit: 1}
  - hold: {name: c1, from: x/a, to: "service:default/web", port: 80}
  - restart: {agent: node2, signal: KILL}
  - restart: {apiserver: true, downFor: 30s}
  - stop: {agent: node1}
  - start: {agent: node1, args: ["--cleanup-config"], wait: exit}
  - release: {name: c1, expect: unbroken}
`,
    's.yaml',
  );
  assert.deepEqual(s.cluster, { nodes: 3, secondSubnet: false, agentArgs: ['--run-firewall=true'], externalPeer: false });
  assert.deepEqual(
    s.steps.map((st) => st.kind),
    ['apply', 'delete', 'settle', 'probe', 'probe', 'probe', 'probe', 'exec', 'exec', 'hold', 'restart-agent', 'restart-apiserver', 'stop', 'start', 'release'],
  );
  assert.deepEqual(s.steps.map((st) => st.index), s.steps.map((_, i) => i + 1));
  const settle = s.steps[2];
  assert.equal(settle.kind === 'settle' && settle.timeoutMs, 60_000);
  const p = s.steps[4];
  assert.ok(p.kind === 'probe');
  assert.deepEqual(p.probe, { from: 'node2', to: 'service:default/web', port: 80, protocol: undefined, expect: 'allow', body: 'default/web-', timeoutMs: 1000, repeat: undefined, bodies: undefined, sameBody: undefined });
  const r = s.steps[11];
  assert.ok(r.kind === 'restart-apiserver' && r.downForMs === 30_000);
  const start = s.steps[13];
  assert.ok(start.kind === 'start');
  assert.deepEqual([start.args, start.wait, start.expectExit], [['--cleanup-config'], 'exit', 0]);
  const ex = s.steps[8];
  assert.ok(ex.kind === 'exec' && ex.expectExit === 1);
});

test('cluster defaults when the section is absent', () => {
  const s = parseScenarioText('steps:\n  - settle: {}\n', 's.yaml');
  assert.deepEqual(s.cluster, { nodes: 3, secondSubnet: false, agentArgs: [], externalPeer: false });
});

test('a dual-stack lab with a second subnet is a cluster section like any other; a second subnet still needs 2 nodes', () => {
  const s = parseScenarioText('cluster: {nodes: 3, secondSubnet: true, dualStack: true}\nsteps:\n  - settle: {}\n', 's.yaml');
  assert.deepEqual(s.cluster, { dualStack: true, nodes: 3, secondSubnet: true, agentArgs: [], externalPeer: false });
  assert.throws(() => parseScenarioText('cluster: {nodes: 1, secondSubnet: true, dualStack: true}\nsteps: [settle: {}]\n', 's.yaml'), /field 'secondSubnet' needs at least 2 nodes/);
});

test('a bad expect names the step index, its key and the field', () => {
  const err = parseError(`steps:
  - settle: {}
  - settle: {}
  - settle: {}
  - probe: {from: x/a, to: x/b, port: 80, expect: alow}
`);
  assert.equal(err.message, "s.yaml: step 4 (probe): field 'expect' must be allow or deny, got 'alow'");
  assert.deepEqual(err.where, { file: 's.yaml', step: 4, key: 'probe', field: 'expect' });
});

test('unknown keys are rejected everywhere', () => {
  assert.match(parseError('cluster: {nodes: 3, nodez: 2}\nsteps: [settle: {}]\n').message, /cluster: field 'nodez' is not known here/);
  assert.match(parseError('clustre: {}\nsteps: [settle: {}]\n').message, /field 'clustre' is not known/);
  assert.match(
    parseError('steps:\n  - probe: {from: x/a, to: x/b, port: 80, expect: allow, tiemout: 1s}\n').message,
    /step 1 \(probe\): field 'tiemout' is not known here/,
  );
  assert.match(parseError('steps:\n  - prob: {}\n').message, /^s.yaml: step 1: unknown step 'prob' \(known: apply, /);
  assert.match(parseError('steps:\n  - settle: {}\n    probe: {}\n').message, /exactly one key/);
});

test('field shapes are checked', () => {
  const cases: [string, RegExp][] = [
    ['cluster: {nodes: 0}\nsteps: [settle: {}]', /cluster: field 'nodes' must be an integer from 1 to 20, got 0/],
    ['cluster: {agentArgs: "--x"}\nsteps: [settle: {}]', /field 'agentArgs' must be a list of strings/],
    ['cluster: {secondSubnet: yes please}\nsteps: [settle: {}]', /field 'secondSubnet' must be true or false/],
    ['steps:\n  - probe: {from: x/a, to: x/b, expect: allow}', /step 1 \(probe\): field 'port' is required/],
    ['steps:\n  - probe: {from: x/a, to: x/b, port: 70000, expect: allow}', /field 'port' must be an integer from 1 to 65535/],
    ['steps:\n  - probe: {from: x/a, to: x/b, port: 80, protocol: tcp, expect: allow}', /field 'protocol' must be TCP, UDP or SCTP, got 'tcp'/],
    ['steps:\n  - probe: {to: x/b, port: 80, expect: allow}', /field 'from' must be a non-empty string, got nothing/],
    ['steps:\n  - probe: {from: x/a, to: x/b, port: 80, expect: deny, body: "x"}', /field 'body' applies to expect: allow only/],
    ['steps:\n  - probe: {from: x/a, to: x/b, port: 80, expect: allow, body: "{{ip x}}"}', /field 'body' template \{\{ip x\}\}/],
    ['steps:\n  - probe: {from: x/a, to: x/b, port: 80, expect: allow, repeat: 0}', /field 'repeat' must be an integer from 1 to 1000/],
    ['steps:\n  - exec: {on: node1, cmd: ls, expect: "("}', /field 'expect' is not a valid regular expression/],
    ['steps:\n  - settle: {timeout: soon}', /step 1 \(settle\): field 'timeout' must be a duration/],
    ['steps:\n  - restart: {agent: node1, signal: HUP}', /step 1 \(restart\): field 'signal' must be TERM or KILL, got 'HUP'/],
    ['steps:\n  - restart: {agent: node1, apiserver: true}', /give exactly one of agent and apiserver/],
    ['steps:\n  - restart: {apiserver: yes}', /field 'apiserver' must be true/],
    ['steps:\n  - start: {agent: node1, wait: forever}', /field 'wait' must be exit or running/],
    ['steps:\n  - start: {agent: node1, expectExit: 0}', /field 'expectExit' needs wait: exit/],
    ['steps:\n  - release: {name: c1, expect: fine}', /step 1 \(release\): field 'expect' must be unbroken or broken/],
    ['steps:\n  - exec: {on: node1}', /step 1 \(exec\): field 'cmd' must be a non-empty string/],
    ['steps:\n  - delete: [{kind: Pod, nam: a}]', /step 1 \(delete\): field '\[1\]\.nam' is not known/],
    ['steps:\n  - delete: []', /step 1 \(delete\): delete must be a non-empty list/],
    ['steps:\n  - hold: {name: c1, from: x/a}', /step 1 \(hold\): field 'to'/],
    ['steps: {settle: {}}', /field 'steps' must be a list/],
    ['cluster: {}', /field 'steps' is required/],
    ['steps:\n  - settle: {}\n  - 42', /step 2: must be a mapping/],
    ['steps: [', /is not valid YAML/],
  ];
  for (const [text, re] of cases) assert.match(parseError(text).message, re, text);
});

test('apply: YAML text, inline objects and templates are validated when parsed', () => {
  const s = parseScenarioText(`steps:\n  - apply: |\n${indent(POD, 6)}\n  - apply: {apiVersion: v1, kind: Namespace, metadata: {name: x}}\n`, 's.yaml');
  assert.ok(s.steps[0].kind === 'apply' && 'text' in s.steps[0].objects);
  assert.ok(s.steps[1].kind === 'apply' && 'values' in s.steps[1].objects);
  assert.match(parseError('steps:\n  - apply: |\n      kind: Pod\n      metadata: {name: a}\n').message, /step 1 \(apply\): field 'document 1' has no 'apiVersion'/);
  assert.match(parseError('steps:\n  - apply: |\n      apiVersion: v1\n      kind: Pod\n').message, /Pod has no 'metadata.name'/);
  assert.match(parseError('steps:\n  - apply: |\n      a: [\n').message, /step 1 \(apply\): does not parse as YAML/);
  assert.match(
    parseError(`steps:\n  - apply: |\n${indent(POD, 6)}\n        annotations: {x: "{{ipp x/a}}"}\n`).message,
    /template \{\{ipp x\/a\}\}: unknown template 'ipp'/,
  );
  assert.match(parseError(`steps:\n  - apply: {apiVersion: v1, kind: Pod, metadata: {name: "{{net x/a}}"}}\n`).message, /expected \{\{net ns\/pod N\}\}/);
});

test('include splices a fixture\'s steps and errors name the included file', () => {
  const files: Record<string, string> = {
    'dir/fixtures/pods.yaml': `steps:\n  - apply: |\n${indent(POD, 6)}\n  - settle: {}\n`,
    'dir/bad.yaml': 'steps:\n  - settle: {}\n  - probe: {from: a/b, to: c/d, port: 80, expect: maybe}\n',
    'dir/loop.yaml': 'steps:\n  - include: loop.yaml\n',
    'dir/objs.yaml': POD,
  };
  const s = parseScenarioText('steps:\n  - include: fixtures/pods.yaml\n  - apply: {file: objs.yaml}\n  - probe: {from: x/a, to: x/a, port: 80, expect: allow}\n', 'dir/s.yaml', {
    readFile: (p) => fileOrThrow(files, p),
  });
  assert.deepEqual(s.steps.map((st) => [st.kind, st.index, st.source.file, st.source.index]), [
    ['apply', 1, 'dir/fixtures/pods.yaml', 1],
    ['settle', 2, 'dir/fixtures/pods.yaml', 2],
    ['apply', 3, 'dir/s.yaml', 2],
    ['probe', 4, 'dir/s.yaml', 3],
  ]);
  const rd = (p: string): string => fileOrThrow(files, p);
  assert.throws(() => parseScenarioText('steps:\n  - include: bad.yaml\n', 'dir/s.yaml', { readFile: rd }), {
    message: "dir/bad.yaml: step 2 (probe): field 'expect' must be allow or deny, got 'maybe'",
  });
  assert.throws(() => parseScenarioText('steps:\n  - include: loop.yaml\n', 'dir/s.yaml', { readFile: rd }), /includes dir\/loop.yaml again/);
  assert.throws(() => parseScenarioText('steps:\n  - include: nope.yaml\n', 'dir/s.yaml', { readFile: rd }), /step 1 \(include\): cannot read dir\/nope.yaml/);
  assert.throws(() => parseScenarioText('steps:\n  - include: pods.yaml\n', 'dir/s.yaml', { readFile: () => 'cluster: {}\nsteps: []\n' }), /field 'cluster' is not known/);
});

test('durations', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('100ms'), 100);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration(2), 2000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('soon'), undefined);
  assert.equal(parseDuration('30'), undefined);
  assert.equal(parseDuration(-1), undefined);
});

function indent(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}
