// Public surface of the command-line package.
export type { AgentOptions } from './types.js';
export type { FlagGroup, FlagKind, FlagSpec } from './flag-spec.js';
export { DEFAULT_CLUSTER_ASN, FLAGS, KUBE_ROUTER_COMPAT_VERSION, flagByName } from './flags.js';
export { defaultOptions, parseFlags, StrayArgumentError, UnknownFlagError, type ParsedFlags } from './parse.js';
export { formatGoDuration, parseGoDuration } from './duration.js';
export { isValidClusterAsn, isValidPeerAsn, parseNodePortRange } from './validate.js';
export { deprecationWarnings, flagWarnings, notBuiltWarnings } from './warnings.js';
export { resolveNodeName } from './node-name.js';
export { usageText } from './usage.js';
export { packageVersion, versionText } from './version.js';
export { runCli, type CliDeps } from './cli.js';
