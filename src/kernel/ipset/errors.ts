// The typed error of a failed `ipset restore`: the failing line number, its
// text, the kernel's reason and the stderr tail.

import { KubeRouterError } from '../../errors.js';
import { stderrTail } from '../exec.js';

export class IpsetRestoreError extends KubeRouterError {
  /** 1-based line of the script, when ipset named one. */
  readonly line: number | undefined;
  readonly lineText: string | undefined;
  readonly reason: string;

  constructor(call: string, stderr: string, script: readonly string[]) {
    const m = /Error in line (\d+): (.*)/.exec(stderr);
    const line = m ? Number(m[1]) : undefined;
    const lineText = line !== undefined ? script[line - 1] : undefined;
    const reason = m ? m[2].trim() : stderrTail(stderr, 500);
    super(
      'KR_ERR_KERNEL',
      line !== undefined ? `${call}: line ${line} "${lineText ?? ''}": ${reason}` : `${call} failed: ${reason}`,
      { call, line, value: lineText, stderr: stderrTail(stderr) },
    );
    this.name = 'IpsetRestoreError';
    this.line = line;
    this.lineText = lineText;
    this.reason = reason;
  }

  /** The set is referenced (iptables rule, list:set): retry after the references are gone. */
  get inUse(): boolean {
    return /in use|busy/i.test(this.reason);
  }

  get missing(): boolean {
    return /does not exist/i.test(this.reason);
  }
}
