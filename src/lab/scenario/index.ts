// The scenario runner's public surface.
export type {
  ClusterSpec,
  ExecResult,
  HoldResult,
  LabCluster,
  NodeInfo,
  ObjectRef,
  Place,
  ProbeRequest,
  ProbeResult,
  Protocol,
  SettleResult,
} from './cluster.js';
export { DEFAULT_CLUSTER_SPEC, placeName, sameClusterSpec } from './cluster.js';
export { ScenarioError } from './errors.js';
export { FamilyError, type IpFamily } from './family.js';
export { parseScenarioFile, parseScenarioText } from './parse.js';
export type { ScenarioOutput } from './report.js';
export { runScenarioFiles, runScenarios, PROBE_RETRY_DELAY_MS, type RunOptions, type RunSummary } from './runner.js';
export { TargetError } from './targets.js';
export type { Scenario, Step } from './types.js';
