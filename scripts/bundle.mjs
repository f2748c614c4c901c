#!/usr/bin/env node
// Bundles the agent (dist/src/cmd/kube-router.js, built by tsc) into one file,
// dist/kube-router.mjs, with esbuild. The agent, its tools (kube-router dump,
// plan, explain), the lab's agents and the image's entrypoint run this file.
//
// Why: loading ~300 modules costs more than the agent's own work at start.
// Measured in the lab guest (TCG, 9p root): 10.1-11.7 s from exec to the
// first log line for dist/src, 4.7 s for the bundle; on the host 0.98 s vs
// 0.65 s. Each agent (re)start in the lab suite pays it on every node.
//
// Left outside the bundle, loaded from node_modules as before:
//   netlink                  ships a native addon (node-gyp-build finds it
//                            relative to its own files);
//   @kubernetes/client-node  imported only for exec credential plugins
//                            (src/informers/credentials-plugin.ts), and
//                            ~800 files of it would triple the bundle.
// Files found at run time (proto/, cni/, package.json) are looked up by
// walking up from the bundle's directory (src/package-root.ts), so the bundle
// must stay inside the package tree (dist/).
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'kube-router.mjs');
await build({
  entryPoints: [join(root, 'dist', 'src', 'cmd', 'kube-router.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Class and function names stay as written: errors are logged by name (KubeRouterError).
  keepNames: true,
  external: ['netlink', '@kubernetes/client-node'],
  // CommonJS dependencies call require() for Node's built-ins; an ES module has none.
  banner: { js: "import { createRequire as __krCreateRequire } from 'node:module'; const require = __krCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
