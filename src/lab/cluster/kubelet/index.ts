// The lab kubelet: pods for real on a lab node (netns + real CNI plugins +
// native responders), plus probes and held connections from pods and nodes.

export { startKubelet, LabKubelet } from './kubelet.js';
export { defaultCniTemplatePath } from './node-cni.js';
export { schedulePod, startScheduler, schedulableNodes, type Binding, type Scheduler } from './scheduler.js';
export { runProbes, startHolder, parseProbeOutput, formatProbeInput } from './probe.js';
export type { ProbeSpec, ProbeResult, ProbeStatus, HoldHandle, HoldSummary } from './probe.js';
export { prefixRunner, wrapRunner, netnsRunner, execInNodeRunner, execLocal, inNetns } from './runner.js';
export type { NodeRunner, ExecResult, ExecOptions, SpawnOptions, ExecInNode } from './runner.js';
export { podNetnsName, podContainerID } from './naming.js';
export { fillTemplate, loadCniConfig, installCniTemplate, cniAdd, cniDel, resultIPs } from './cni.js';
export type { CniConfList, CniPluginConf } from './cni.js';
export { silentLogger } from './types.js';
export type { Kubelet, KubeletOptions, LabLogger, PodLocation, PodRef } from './types.js';
export { MemoryObjectStore } from './memory-store.js';
