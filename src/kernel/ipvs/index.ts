// IPVS over generic netlink: the interface and value types, the Linux
// implementation, the in-memory fake, typed errors. See types.ts.

export * from './types.js';
export { LinuxIpvs, IPVS_FAMILY_MISSING, type LinuxIpvsOptions } from './linux.js';
export { FakeIpvs, KERNEL_SCHEDULERS } from './fake.js';
export { IpvsError, Errno, errnoName, isIpvsErrno } from './errors.js';
export { SvcFlag, TunType, FwdMethodCode } from './attrs.js';
