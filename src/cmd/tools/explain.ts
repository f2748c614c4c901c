// `kube-router explain`: resolves --from/--to (ns/pod, or an address: a pod's
// IP names that pod) in the snapshot and evaluates the flow (explain-eval.ts).

import { FlagError } from '../../errors.js';
import type { SharedCache } from '../../informers/cache.js';
import type { Protocol } from '../../informers/types.js';
import { canonicalAddr } from '../../kernel/ipset/addr.js';
import { firewallContext } from '../../controllers/firewall/context.js';
import type { AgentOptions } from '../options/types.js';
import type { ToolOptions } from './args.js';
import { clusterView } from './desired-firewall.js';
import { explainFlow, type Explanation, type FlowEnd } from './explain-eval.js';

export function resolveEnd(cache: SharedCache, text: string, flag: string): FlowEnd {
  const pods = cache.store('Pod');
  if (text.includes('/')) {
    const pod = pods.get(text);
    if (!pod) throw new FlagError(flag, text, 'namespace/pod of an existing Pod, or an IP address');
    return { kind: 'pod', key: text, pod };
  }
  const a = canonicalAddr(text);
  if (!a) throw new FlagError(flag, text, 'namespace/pod or an IP address');
  for (const pod of pods.list()) {
    const ips = pod.status?.podIPs?.map((x) => x.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
    if (!pod.spec?.hostNetwork && ips.some((ip) => canonicalAddr(ip)?.addr === a.addr)) {
      return { kind: 'pod', key: `${pod.metadata.namespace}/${pod.metadata.name}`, pod };
    }
  }
  return { kind: 'ip', ip: a.addr };
}

export function explainFromCache(cache: SharedCache, options: AgentOptions, nodeName: string, tool: ToolOptions): Explanation {
  if (tool.from === undefined) throw new FlagError('--from', '', 'namespace/pod or an IP address (explain needs --from, --to and --port)');
  if (tool.to === undefined) throw new FlagError('--to', '', 'namespace/pod or an IP address (explain needs --from, --to and --port)');
  if (tool.port === undefined) throw new FlagError('--port', '', 'a port number (explain needs --from, --to and --port)');
  const protocol: Protocol = tool.protocol;
  return explainFlow({
    from: resolveEnd(cache, tool.from, '--from'),
    to: resolveEnd(cache, tool.to, '--to'),
    port: tool.port,
    protocol,
    view: clusterView(cache),
    ctx: firewallContext(options, nodeName, undefined),
  });
}
