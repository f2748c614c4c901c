// A parsed, validated scenario file. Targets stay strings here (`x/a`,
// `service:ns/name`, ...): they are resolved when the step runs, since pod
// and service addresses change while a scenario runs.

import type { ClusterSpec, ObjectRef, Protocol } from './cluster.js';

export type Expect = 'allow' | 'deny';

/** Where a step was written: a file and its 1-based position in that file's `steps`. */
export interface StepSource {
  file: string;
  index: number;
}

/** Objects to apply: YAML text (templates substituted when the step runs) or already-parsed values. */
export type ApplySource = { text: string } | { values: unknown[] };

export interface ProbeSpec {
  from: string;
  to: string;
  /** Absent: the service's first port (service:/nodeport: targets); required otherwise. */
  port?: number;
  /** Absent: the service port's protocol, else TCP. */
  protocol?: Protocol;
  expect: Expect;
  /** Regex (or plain substring) the reply must contain; checked only when a connection is expected. */
  body?: string;
  timeoutMs: number;
  /** Probe this many times (in parallel); every repetition must meet the expectation. */
  repeat?: number;
  /** Each must match at least one reply (every endpoint answered). */
  bodies?: string[];
  /** All replies identical (affinity). */
  sameBody?: boolean;
}

export interface MatrixCell {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  expect: Expect;
}

export type StepBody =
  | { kind: 'apply'; objects: ApplySource }
  | { kind: 'delete'; refs: ObjectRef[] }
  | { kind: 'settle'; timeoutMs: number }
  | { kind: 'probe'; probe: ProbeSpec }
  | { kind: 'matrix'; cells: MatrixCell[]; timeoutMs: number }
  | {
      kind: 'exec';
      on: string;
      cmd: string;
      expect?: string;
      expectNot?: string;
      expectExit: number;
      timeoutMs: number;
    }
  | { kind: 'hold'; name: string; from: string; to: string; port?: number }
  | { kind: 'release'; name: string; expect: 'unbroken' | 'broken'; maxGapMs: number }
  | { kind: 'restart-agent'; node: string; signal: 'TERM' | 'KILL' }
  | { kind: 'restart-apiserver'; downForMs: number }
  | { kind: 'stop'; node: string }
  | { kind: 'start'; node: string; args: string[]; wait: 'exit' | 'running'; expectExit?: number }
  | { kind: 'sleep'; ms: number };

export type Step = StepBody & {
  /** 1-based position in the flattened step list (what the report calls `step`). */
  index: number;
  /** Where it was written (differs from `index` for steps of an included file). */
  source: StepSource;
};

export interface Scenario {
  file: string;
  cluster: ClusterSpec;
  steps: Step[];
}

/** The `kind` shown in reports: the key the step was written with. */
export function stepKey(step: StepBody): string {
  switch (step.kind) {
    case 'restart-agent':
    case 'restart-apiserver':
      return 'restart';
    default:
      return step.kind;
  }
}
