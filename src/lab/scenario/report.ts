// The runner's output: one JSON line per step result, `<file>: N passed, N
// failed` after each file and `N passed, N failed` last.

/** Where lines go: process.stdout fits, and so does a test's collector. */
export interface ScenarioOutput {
  write(text: string): unknown;
}

export interface Tally {
  passed: number;
  failed: number;
}

export type ResultLine = { file: string; step?: number; kind: string; ok: boolean } & Record<string, unknown>;

export class FileReport implements Tally {
  passed = 0;
  failed = 0;

  constructor(
    private readonly out: ScenarioOutput,
    readonly file: string,
  ) {}

  /** Writes one result line and counts it. */
  result(step: number | undefined, kind: string, ok: boolean, fields: Record<string, unknown>): void {
    // `ok` then `ms` come last, so a line reads: what was checked, what came out, pass/fail, time.
    const { ms, ...rest } = fields;
    const line: ResultLine = { file: this.file, ...(step === undefined ? {} : { step }), kind, ...rest, ok, ms };
    if (ok) this.passed++;
    else this.failed++;
    this.out.write(`${JSON.stringify(line, dropUndefined)}\n`);
  }

  summary(): void {
    this.out.write(`${this.file}: ${this.passed} passed, ${this.failed} failed\n`);
  }
}

function dropUndefined(_key: string, value: unknown): unknown {
  return value === undefined ? undefined : value;
}

export function totalLine(t: Tally): string {
  return `${t.passed} passed, ${t.failed} failed\n`;
}

/** Keeps error output in a report line short. */
export function clip(text: string, max = 2000): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}
