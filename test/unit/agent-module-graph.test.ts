// The agent must not load @kubernetes/client-node on its normal path: the
// import alone costs 1.6-2.4 s and ~75 MB RSS (22-28 s CPU in the lab VM).
// A child node runs with a module loader hook that FAILS any load of a
// client-node file, imports the agent and the kube-router bin's modules,
// loads a token kubeconfig and makes a request through the transport. The
// same hook rejecting an exec kubeconfig shows that the check does bite.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-module-graph-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const dist = (rel: string): string => pathToFileURL(fileURLToPath(new URL(`../../src/${rel}`, import.meta.url))).href;

// Runs in the loader thread: every resolved module URL is checked.
const HOOKS = `
export async function load(url, context, next) {
  if (url.includes('/node_modules/@kubernetes/client-node/')) throw new Error('CLIENT_NODE_LOADED ' + url);
  return next(url, context);
}
`;
fs.writeFileSync(path.join(dir, 'hooks.mjs'), HOOKS);
fs.writeFileSync(
  path.join(dir, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`,
);

function kubeconfig(name: string, user: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    `clusters: [{name: c, cluster: {server: "http://127.0.0.1:PORT"}}]
users: [{name: u, user: ${user}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  );
  return file;
}

/** The child: imports the agent's modules, then loads `file` and GETs through the transport. */
function runChild(file: string): { status: number | null; out: string } {
  const script = `
import http from 'node:http';
import fs from 'node:fs';
await import(${JSON.stringify(dist('cmd/agent.js'))});
await import(${JSON.stringify(dist('cmd/options/cli.js'))});
const { loadApiConnection } = await import(${JSON.stringify(dist('informers/kubeconfig.js'))});
const { createHttpTransport } = await import(${JSON.stringify(dist('informers/transport.js'))});
let seen;
const srv = http.createServer((req, res) => { seen = req.headers.authorization; res.end('{}'); });
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const file = ${JSON.stringify(file)};
fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('PORT', String(srv.address().port)));
try {
  const conn = await loadApiConnection({ kubeconfig: file, serviceAccountDir: '/nonexistent', env: {} });
  const t = createHttpTransport(conn);
  const res = await t.get('/api/v1/nodes', new URLSearchParams(), new AbortController().signal);
  for await (const _ of res.body) void _;
  t.close();
  console.log('OK', res.statusCode, seen);
} finally {
  srv.close();
}
`;
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', pathToFileURL(path.join(dir, 'register.mjs')).href, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the agent and a token kubeconfig never load @kubernetes/client-node', () => {
  const r = runChild(kubeconfig('token', '{token: tok}'));
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /OK 200 Bearer tok/);
  assert.doesNotMatch(r.out, /CLIENT_NODE_LOADED/);
});

test('control: an exec kubeconfig does load it (the hook would catch a regression)', () => {
  const r = runChild(kubeconfig('exec', '{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: "true"}}'));
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /CLIENT_NODE_LOADED/);
});
