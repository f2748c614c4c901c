export * from './types.js';
export { normalizeEntry, normalizeEntries } from './entry.js';
export { IpsetRestoreError } from './errors.js';
export { parseIpsetSave, selectorPredicate } from './parse.js';
export { planIpsets, tmpSetName, createArgs, TMP_PREFIX, type IpsetOp, type IpsetPlan } from './plan.js';
export { buildIpsetRestore, buildIpsetDestroy } from './script.js';
export { IpsetReconciler } from './reconciler.js';
export { LinuxIpsetDriver, createLinuxIpset, type LinuxIpsetOptions } from './linux.js';
export { FakeIpsetKernel, createFakeIpset } from './fake.js';
