// Typed scenario errors: a parse error names the file, the step (index and
// key) and the field; a run-time error names the file and the step.

import { KubeRouterError } from '../../errors.js';

export interface ScenarioErrorWhere {
  file: string;
  /** 1-based step index in `file`; absent for the `cluster:` section and the file's shape. */
  step?: number;
  /** The step's key (`probe`, `apply`, ...) or `cluster`. */
  key?: string;
  field?: string;
}

export class ScenarioError extends KubeRouterError {
  readonly where: ScenarioErrorWhere;

  constructor(where: ScenarioErrorWhere, problem: string, value?: string) {
    super('KR_ERR_LAB', `${where.file}: ${describeWhere(where)}${problem}`, {
      file: where.file,
      step: where.step,
      field: where.field,
      value,
    });
    this.name = 'ScenarioError';
    this.where = where;
  }
}

function describeWhere(w: ScenarioErrorWhere): string {
  let s = '';
  if (w.step !== undefined) s += w.key === undefined ? `step ${w.step}: ` : `step ${w.step} (${w.key}): `;
  else if (w.key !== undefined) s += `${w.key}: `;
  if (w.field !== undefined) s += `field '${w.field}' `;
  return s;
}

/** Renders a scenario value for an error message: `'alow'`, `42`, `{...}`. */
export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'a mapping';
}
