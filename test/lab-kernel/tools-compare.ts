// Lab check for `kube-router plan` against `kube-router dump` (test/lab/tools.yaml):
//   kr-plan-vs-dump [AGENT FLAGS...]
// runs `kube-router plan -o json` and `kube-router dump -o json` on this node
// with the same agent flags and requires, for every controller, that dump
// reports it in sync and that what plan prints is what dump shows applied
// (plan's desired lines == dump's actual lines, section by section). The
// node's own addresses (`local-ips`) are known to plan only as its Node
// addresses: those must be among the applied ones. Retries while the state
// converges (BGP paths arriving) up to --wait seconds (default 60).

import { execFileSync } from 'node:child_process';
import type { ToolReport } from '../../src/cmd/tools/report.js';

function run(tool: 'plan' | 'dump', flags: string[]): ToolReport {
  const t0 = Date.now();
  try {
    return JSON.parse(runOnce(tool, flags)) as ToolReport;
  } finally {
    console.log(`kube-router ${tool}: ${Date.now() - t0} ms`);
  }
}

function runOnce(tool: 'plan' | 'dump', flags: string[]): string {
  let out: string;
  try {
    out = execFileSync('kube-router', [tool, '-o', 'json', ...flags], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (err) {
    // dump exits 3 when out of sync; its report is still on stdout.
    const e = err as { status?: number; stdout?: string; stderr?: string };
    if (tool === 'dump' && e.status === 3 && e.stdout) out = e.stdout;
    else throw new Error(`kube-router ${tool} failed (${e.status}): ${e.stderr ?? ''}`);
  }
  return out;
}

function compare(plan: ToolReport, dump: ToolReport): string[] {
  const problems: string[] = [];
  for (const p of plan.controllers) {
    const d = dump.controllers.find((c) => c.controller === p.controller);
    if (!d) {
      problems.push(`${p.controller}: not in dump`);
      continue;
    }
    if (d.inSync !== true) problems.push(`${p.controller}: dump says out of sync:\n    ${(d.changes ?? []).join('\n    ')}`);
    for (const s of p.sections) {
      const ds = d.sections.find((x) => x.name === s.name);
      const applied = ds?.actual ?? ds?.desired ?? [];
      if (s.name === 'local-ips') {
        const missing = s.desired.filter((l) => !applied.includes(l));
        if (missing.length > 0) problems.push(`${p.controller} ${s.name}: not applied: ${missing.join(', ')}`);
        continue;
      }
      const planned = new Set(s.desired);
      const have = new Set(applied);
      const notApplied = s.desired.filter((l) => !have.has(l));
      const notPlanned = applied.filter((l) => !planned.has(l));
      if (notApplied.length + notPlanned.length > 0) {
        problems.push(`${p.controller} ${s.name}:\n    planned, not applied: ${notApplied.join(' | ') || '-'}\n    applied, not planned: ${notPlanned.join(' | ') || '-'}`);
      }
    }
  }
  return problems;
}

function main(): number {
  const args = process.argv.slice(2);
  let waitS = 60;
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--wait') waitS = Number(args[++i]);
    else flags.push(args[i]);
  }
  const deadline = Date.now() + waitS * 1000;
  for (let attempt = 1; ; attempt++) {
    const plan = run('plan', flags);
    const dump = run('dump', flags);
    const problems = compare(plan, dump);
    if (problems.length === 0) {
      for (const c of plan.controllers) {
        const n = c.sections.map((s) => `${s.name} ${s.desired.length}`).join(', ');
        console.log(`${c.controller}: plan == applied (${n})`);
      }
      console.log(`plan matches dump on ${plan.node} (attempt ${attempt})`);
      return 0;
    }
    if (Date.now() > deadline) {
      console.log(`plan does not match dump on ${plan.node} after ${attempt} attempts:\n  ${problems.join('\n  ')}`);
      return 1;
    }
    execFileSync('sleep', ['2']);
  }
}

process.exitCode = main();
