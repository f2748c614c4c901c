// Parsed command line of the agent. One field per kube-router v2.11 flag
// (pkg/options/options.go), named as the flag in camelCase. Durations are in
// milliseconds, lists are arrays, CIDRs are validated strings.

export interface AgentOptions {
  // ---- general / process ----
  runFirewall: boolean;
  runRouter: boolean;
  runServiceProxy: boolean;
  runLoadbalancer: boolean;
  kubeconfig: string;
  master: string;
  hostnameOverride: string;
  cleanupConfig: boolean;
  cacheSyncTimeout: number;
  enableIpv4: boolean;
  enableIpv6: boolean;
  serviceClusterIpRange: string[];
  serviceExternalIpRange: string[];
  loadbalancerIpRange: string[];
  strictExternalIpValidation: boolean;
  serviceNodePortRange: string;
  healthAddr: string;
  healthPort: number;
  metricsAddr: string;
  metricsPort: number;
  metricsPath: string;
  enablePprof: boolean;
  v: number;
  help: boolean;
  version: boolean;

  // ---- service proxy ----
  ipvsSyncPeriod: number;
  masqueradeAll: boolean;
  nodeportBindonAllIp: boolean;
  hairpinMode: boolean;
  ipvsGracefulTermination: boolean;
  ipvsGracefulPeriod: number;
  ipvsPermitAll: boolean;
  excludedCidrs: string[];
  runtimeEndpoint: string;
  serviceTcpTimeout: number;
  serviceTcpfinTimeout: number;
  serviceUdpTimeout: number;

  // ---- routing / BGP / CNI ----
  routesSyncPeriod: number;
  injectedRoutesSyncPeriod: number;
  /** Effective iBGP ASN: --cluster-asn, where 0 (its default) means 64512 as in kube-router. */
  clusterAsn: number;
  nodesFullMesh: boolean;
  enableIbgp: boolean;
  peerRouterIps: string[];
  peerRouterAsns: number[];
  peerRouterPasswords: string[];
  peerRouterPasswordsFile: string;
  peerRouterPorts: number[];
  peerRouterMultihopTtl: number;
  advertiseClusterIp: boolean;
  advertiseExternalIp: boolean;
  advertiseLoadbalancerIp: boolean;
  advertisePodCidr: boolean;
  overrideNexthop: boolean;
  bgpPort: number;
  bgpHoldtime: number;
  bgpGracefulRestart: boolean;
  bgpGracefulRestartTime: number;
  bgpGracefulRestartDeferralTime: number;
  routerId: string;
  gobgpAdminAddress: string;
  gobgpAdminPort: number;
  enableBfd: boolean;
  bfdPort: number;
  bfdDetectionMultiplier: number;
  bfdDesiredMinTxInterval: number;
  bfdRequiredMinRxInterval: number;
  enableOverlay: boolean;
  overlayType: 'subnet' | 'full';
  overlayEncap: 'ipip' | 'fou';
  overlayEncapPort: number;
  enablePodEgress: boolean;
  enableCni: boolean;
  autoMtu: boolean;
  disableSourceDestCheck: boolean;

  // ---- firewall ----
  iptablesSyncPeriod: number;
  netpolDefaultDeny: boolean;
  useNftablesForNetpol: boolean;

  // ---- load balancer allocator ----
  loadbalancerDefaultClass: boolean;
  loadbalancerSyncPeriod: number;

  // ---- deprecated flags from older kube-router, accepted with a warning ----
  /** --cluster-cidr (removed upstream in v1.1.0): what is "inside the cluster" when set. */
  clusterCidr: string[];
  /** --config-sync-period (removed upstream in v0.2.0): accepted and ignored with a warning. */
  configSyncPeriod: number;
}
