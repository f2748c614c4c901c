// What `plan` and `dump` print: per controller, named sections of one-line
// objects (render.ts), desired and (dump) actual, plus the changes the
// controller's reconciler would make now. Text side by side with markers, or
// JSON (`-o json`) for scripts.

export interface Section {
  name: string;
  desired: string[];
  /** dump only: the kernel's objects of this kind that the controller owns. */
  actual?: string[];
}

export type ControllerName = 'proxy' | 'routing' | 'firewall';

export interface ControllerReport {
  controller: ControllerName;
  sections: Section[];
  /** dump only: what the reconciler would write (ipset/iptables-restore lines, netlink and IPVS operations). */
  changes?: string[];
  /** dump only: true when the reconciler would change nothing. */
  inSync?: boolean;
  /** What the output assumes or could not read (e.g. gobgpd not reachable). */
  notes: string[];
  /** Compile warnings (bad annotations, policies enforced fail-closed). */
  warnings: string[];
}

export interface ToolReport {
  tool: 'plan' | 'dump';
  node: string;
  controllers: ControllerReport[];
}

/** Marks: ' ' in both, '-' desired but missing from the kernel, '+' in the kernel but not desired. */
export function markLines(desired: readonly string[], actual: readonly string[]): { mark: ' ' | '-' | '+'; line: string }[] {
  const d = new Set(desired);
  const a = new Set(actual);
  const all = [...new Set([...desired, ...actual])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return all.map((line) => ({ mark: d.has(line) && a.has(line) ? ' ' : d.has(line) ? '-' : '+', line }));
}

function width(lines: readonly string[]): number {
  return Math.min(90, Math.max(8, ...lines.map((l) => l.length)));
}

function clip(s: string, w: number): string {
  return s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w);
}

export function renderText(r: ToolReport): string {
  const out: string[] = [];
  for (const c of r.controllers) {
    const status = c.inSync === undefined ? '' : c.inSync ? ' (in sync)' : ` (OUT OF SYNC: ${c.changes?.length ?? 0} change(s))`;
    out.push(`=== ${c.controller} on ${r.node}${status}`);
    for (const n of c.notes) out.push(`# ${n}`);
    for (const w of c.warnings) out.push(`! ${w}`);
    for (const s of c.sections) {
      if (s.actual === undefined) {
        out.push(`--- ${s.name} (${s.desired.length})`);
        for (const l of s.desired) out.push(`  ${l}`);
        continue;
      }
      const marked = markLines(s.desired, s.actual);
      const w = width(marked.map((m) => m.line));
      out.push(`--- ${s.name}: desired ${s.desired.length}, actual ${s.actual.length}`);
      out.push(`  ${clip('DESIRED', w)} | ACTUAL`);
      for (const m of marked) {
        const left = m.mark === '+' ? '' : m.line;
        const right = m.mark === '-' ? '' : m.line;
        out.push(`${m.mark} ${clip(left, w)} | ${right}`);
      }
    }
    if (c.changes !== undefined) {
      out.push(`--- changes the reconciler would make (${c.changes.length})`);
      for (const ch of c.changes) out.push(`  ${ch}`);
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

export function renderJson(r: ToolReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
