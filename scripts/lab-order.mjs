#!/usr/bin/env node
// Prints scenario files (one per line) in the order scripts/test-all runs
// them: files with the same `cluster:` section next to each other, so the lab
// restarts the agents once per distinct section (a restart with a
// --cleanup-config run costs 1-2 minutes under emulation), and the group
// that shares the section of the file given with --last at the end (the
// negative file runs right after it without another restart). Otherwise
// groups keep the order of their first file.
//   node scripts/lab-order.mjs [--last FILE] FILE...
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let last;
if (args[0] === '--last') {
  last = args[1];
  args.splice(0, 2);
}

/** The cluster section without comments and blank lines: files with equal keys run on the same agents. */
function clusterKey(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^cluster:/.test(l));
  if (start < 0) return '';
  const out = [];
  for (const l of lines.slice(start + 1)) {
    if (/^\S/.test(l) && !l.startsWith('#')) break;
    const t = l.replace(/\s+#.*$/, '').trim();
    if (t !== '' && !t.startsWith('#')) out.push(t);
  }
  return out.join('\n');
}

const groups = new Map();
for (const f of args) {
  const k = clusterKey(f);
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(f);
}
const lastKey = last === undefined ? undefined : clusterKey(last);
const ordered = [...groups.entries()].sort(([a], [b]) => Number(a === lastKey) - Number(b === lastKey));
for (const [, files] of ordered) for (const f of files) console.log(f);
