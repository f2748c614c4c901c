// What the demo deploys and checks: the names in test/lab/demo/*.yaml, the
// shell script it runs in each node's namespace (one exec per node), and the
// probe lines of the scenario runner it reports, each with the controllers
// it depends on.

import { SECTION_BEGIN, SECTION_END, type ControllerName } from './demo-parse.js';

export const DEMO_NAMESPACE = 'demo';
/** The web pods, one per node (`web-1` on node1 ...). */
export const WEB_PODS = ['web-1', 'web-2', 'web-3'] as const;
export const CLIENT_POD = 'client';
export const WEB_PORT = 80;
export const CLUSTERIP_SERVICE = 'web';
export const NODEPORT_SERVICE = 'web-np';
export const DEMO_NODES = ['node1', 'node2', 'node3'] as const;
/** Scenario files, relative to the checkout. */
export const DEPLOY_FILE = 'test/lab/demo/deploy.yaml';
export const POLICY_FILE = 'test/lab/demo/policy.yaml';

/** The agent's --health-port default (src/lab/guest/agent-health.ts). */
export const HEALTH_PORT = 20244;

/** Runs in a node's namespace: each command framed by markers (see parseSections). */
export function nodeScript(nodeIP: string): string {
  const run = (name: string, cmd: string): string => `echo '${SECTION_BEGIN}${name}'; ${cmd} 2>&1; echo "${SECTION_END}${name} $?"`;
  return [
    run('health', `curl -sS -m 5 http://${nodeIP}:${HEALTH_PORT}/healthz`),
    run('ipvs', 'ipvsadm -Ln'),
    run('gobgp', 'timeout 15 gobgp neighbor'),
    run('routes', 'ip route'),
  ].join('; echo; ');
}

export type PhaseName = 'deploy' | 'policy';

export interface ProbeCheckPlan {
  phase: PhaseName;
  /** Matches the runner's probe line: `from`, `to`, `expect`. */
  from: string;
  to: string;
  expect: 'allow' | 'deny';
  section: string;
  title: string;
  expected: string;
  needs: ControllerName[];
}

const ns = DEMO_NAMESPACE;

/** The probe checks, in the order they are printed (grouped by section). */
export const PROBE_CHECKS: readonly ProbeCheckPlan[] = [
  {
    phase: 'deploy',
    from: `${ns}/client`,
    to: `${ns}/web-1`,
    expect: 'allow',
    section: 'pods',
    title: 'same-node pod to pod: client -> web-1 (both on node1), TCP 80',
    expected: 'connects, reply demo/web-1',
    needs: [],
  },
  {
    phase: 'deploy',
    from: `${ns}/client`,
    to: `${ns}/web-2`,
    expect: 'allow',
    section: 'routing (BGP)',
    title: 'cross-node pod to pod: client (node1) -> web-2 (node2), TCP 80',
    expected: 'connects over the routes to node2\'s podCIDR, reply demo/web-2',
    needs: ['routing'],
  },
  {
    phase: 'deploy',
    from: `${ns}/client`,
    to: `${ns}/web-3`,
    expect: 'allow',
    section: 'routing (BGP)',
    title: 'cross-node pod to pod: client (node1) -> web-3 (node3), TCP 80',
    expected: 'connects over the routes to node3\'s podCIDR, reply demo/web-3',
    needs: ['routing'],
  },
  {
    phase: 'deploy',
    from: `${ns}/client`,
    to: `service:${ns}/${CLUSTERIP_SERVICE}`,
    expect: 'allow',
    section: 'service traffic',
    title: 'ClusterIP: client -> Service demo/web, 6 connections',
    expected: 'every connection answered, by all of web-1, web-2 and web-3',
    needs: ['proxy', 'routing'],
  },
  {
    phase: 'deploy',
    from: 'node1',
    to: `nodeport:${ns}/${NODEPORT_SERVICE}@node2`,
    expect: 'allow',
    section: 'service traffic',
    title: 'NodePort: node1 -> node2\'s IP:nodePort of Service demo/web-np',
    expected: 'connects, reply from one of demo/web-*',
    needs: ['proxy', 'routing'],
  },
  {
    phase: 'policy',
    from: `${ns}/client`,
    to: `${ns}/web-1`,
    expect: 'deny',
    section: 'network policy',
    title: 'NetworkPolicy web-deny-ingress: client -> web-1 (same node) is blocked',
    expected: 'no connection within 1 s',
    needs: ['firewall'],
  },
  {
    phase: 'policy',
    from: `${ns}/client`,
    to: `service:${ns}/${CLUSTERIP_SERVICE}`,
    expect: 'deny',
    section: 'network policy',
    title: 'NetworkPolicy web-deny-ingress: client -> Service demo/web is blocked',
    expected: 'no connection within 1 s',
    needs: ['firewall', 'proxy'],
  },
  {
    phase: 'policy',
    from: `${ns}/client`,
    to: `${ns}/web-1`,
    expect: 'allow',
    section: 'network policy',
    title: 'policy deleted: client -> web-1 reachable again',
    expected: 'connects, reply demo/web-1',
    needs: ['firewall'],
  },
];

/** What each controller provides, for the closing "not there yet" lines. */
export const CONTROLLER_PROVIDES: Record<ControllerName, string> = {
  routing: 'routes to the other nodes\' podCIDRs, BGP peering (gobgp), cross-node pod traffic',
  proxy: 'IPVS virtual servers for ClusterIP and NodePort Services, traffic to Services',
  firewall: 'NetworkPolicy enforcement (iptables and ipsets)',
};
