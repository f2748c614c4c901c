// The typed error of a failed `iptables-restore`: the failing line of our
// script, its text, and the stderr tail. Formats parsed:
//   nft parse errors   "<tool> v1.8.9 (nf_tables): <reason>\nError occurred at line: N"
//   nft commit errors  "<tool> v1.8.9 (nf_tables): \nline N: <reason>"
//   legacy             "<tool>: line N failed: <reason>" / "...Error occurred at line: N"
// nft checks jump targets at COMMIT and reports the COMMIT line: the rule
// naming the missing chain (or set) is then looked up in the script.

import { KubeRouterError } from '../../errors.js';
import { stderrTail } from '../exec.js';

function parse(stderr: string): { line: number | undefined; reason: string } {
  let m = /^line (\d+): (.+)$/m.exec(stderr);
  if (m) return { line: Number(m[1]), reason: m[2].trim() };
  m = /line (\d+) failed:? ?(.*)$/m.exec(stderr);
  if (m && m[2].trim() !== '') return { line: Number(m[1]), reason: m[2].trim() };
  const at = /Error occurred at line: (\d+)/.exec(stderr) ?? m;
  const first = stderr
    .split('\n')
    .map((l) => l.replace(/^ip6?tables(-(nft|legacy))?-restore( v[\d.]+( \([a-z_]+\))?)?: ?/, '').trim())
    .find((l) => l !== '' && !l.startsWith('Error occurred at line') && !l.startsWith('Try `'));
  return { line: at ? Number(at[1]) : undefined, reason: first ?? stderrTail(stderr, 300) };
}

/** When the kernel blames COMMIT, the first rule naming the missing chain or set. */
function resolveLine(line: number | undefined, reason: string, script: readonly string[]): number | undefined {
  if (line === undefined || script[line - 1]?.trim() !== 'COMMIT') return line;
  const chain = /Chain '([^']+)' does not exist/.exec(reason)?.[1];
  const set = /Set (\S+) doesn't exist/.exec(reason)?.[1];
  const needle = chain !== undefined ? new RegExp(`\\s-[jg] ${chain}(\\s|$)`) : set !== undefined ? new RegExp(`--match-set ${set}\\s`) : undefined;
  if (!needle) return line;
  let from = line - 2;
  while (from > 0 && !script[from].startsWith('*')) from--;
  for (let i = from; i < line - 1; i++) if (needle.test(script[i])) return i + 1;
  return line;
}

export class IptablesRestoreError extends KubeRouterError {
  /** 1-based line of the script that failed (resolved from COMMIT to the offending rule when possible). */
  readonly line: number | undefined;
  readonly lineText: string | undefined;
  readonly reason: string;

  constructor(call: string, stderr: string, script: readonly string[]) {
    const p = parse(stderr);
    const line = resolveLine(p.line, p.reason, script);
    const lineText = line !== undefined ? script[line - 1] : undefined;
    super(
      'KR_ERR_KERNEL',
      line !== undefined ? `${call}: line ${line} "${lineText ?? ''}": ${p.reason}` : `${call} failed: ${p.reason}`,
      { call, line, value: lineText, stderr: stderrTail(stderr) },
    );
    this.name = 'IptablesRestoreError';
    this.line = line;
    this.lineText = lineText;
    this.reason = p.reason;
  }
}
