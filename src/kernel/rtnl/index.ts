// Links, addresses, routes and rules over rtnetlink: the interface and value
// types, the Linux implementation, the in-memory fake, typed errors.

export * from './types.js';
export { LinuxRtnl, type LinuxRtnlOptions } from './linux.js';
export { FakeRtnl } from './fake.js';
export { RtnlError, RtErrno, isRtErrno } from './errors.js';
export { AF_INET, AF_INET6, type AddressFamily, canonicalAddr, familyOf, hostPort, compareAddr } from './inet.js';
