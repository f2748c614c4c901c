// Resolution of scenario targets to places and addresses, at the time a step
// runs: `namespace/pod`, a node name (or the router / external peer), an IP,
// `service:ns/name` (its ClusterIP, first port unless a port is given, and
// that port's protocol) and `nodeport:ns/name@node` (that node's IP and the
// service's first nodePort, or the nodePort of the service port given).
// Addresses are those of the run's family (`--family ipv6`: the pod's IPv6
// entry of status.podIPs, the Service's IPv6 entry of spec.clusterIPs, the
// node's ip6); an IP literal is taken as written.

import { isIP } from 'node:net';
import type { StoredObject } from '../apiserver/types.js';
import { KubeRouterError } from '../../errors.js';
import type { LabCluster, NodeInfo, Place, Protocol } from './cluster.js';
import { familyNumber, prefixFor, type IpFamily } from './family.js';
import { familyTemplate, maskIP, type TemplateRef } from './template.js';

export interface Address {
  ip: string;
  port: number;
  protocol: Protocol;
}

export class TargetError extends KubeRouterError {
  constructor(target: string, problem: string) {
    super('KR_ERR_LAB', `'${target}': ${problem}`, { value: target });
    this.name = 'TargetError';
  }
}

interface ServicePort {
  port?: number;
  nodePort?: number;
  protocol?: string;
}

const POD_REF = /^([^/:@\s]+)\/([^/:@\s]+)$/;

/**
 * Resolves targets against one view of the cluster. Lookups are cached for
 * the resolver's life, so make one per batch of steps (addresses change
 * between batches: a pod re-created has a new IP).
 */
export class TargetResolver {
  private nodeList: Promise<NodeInfo[]> | undefined;
  private readonly objects = new Map<string, Promise<StoredObject | undefined>>();

  constructor(
    private readonly cluster: LabCluster,
    readonly family: IpFamily = 'ipv4',
  ) {}

  private nodes(): Promise<NodeInfo[]> {
    this.nodeList ??= this.cluster.nodes();
    return this.nodeList;
  }

  private getObject(kind: string, namespace: string, name: string): Promise<StoredObject | undefined> {
    const key = `${kind} ${namespace}/${name}`;
    let p = this.objects.get(key);
    if (p === undefined) {
      p = this.cluster.get(kind, namespace, name);
      this.objects.set(key, p);
    }
    return p;
  }

  private async node(target: string, name: string): Promise<NodeInfo> {
    const nodes = await this.nodes();
    const n = nodes.find((x) => x.name === name);
    if (n === undefined) throw new TargetError(target, `no node '${name}' (nodes: ${nodes.map((x) => x.name).join(', ')})`);
    if (n.ips.length === 0) throw new TargetError(target, `node '${name}' has no address`);
    return n;
  }

  /** The node's address of the run's family (IPv4: its InternalIP, as always). */
  private async nodeIP(target: string, name: string, family: IpFamily = this.family): Promise<string> {
    const n = await this.node(target, name);
    if (family === 'ipv4') return n.ips[0];
    if (n.ip6 === undefined) throw new TargetError(target, `node '${name}' has no IPv6 address (a dual-stack lab gives nodes one)`);
    return n.ip6;
  }

  /**
   * Where a probe, hold or command runs from: `ns/pod`, a node name, or (for
   * `exec` only) `root`: the guest's root namespace, on the underlay as
   * 192.168.56.1 but outside the cluster (a client that is no node).
   */
  async place(target: string): Promise<Place> {
    if (target === 'root') return { kind: 'node', name: 'root' };
    const pm = POD_REF.exec(target);
    if (pm !== null) {
      const pod = await this.getObject('Pod', pm[1], pm[2]);
      if (pod === undefined) throw new TargetError(target, 'no such pod');
      return { kind: 'pod', namespace: pm[1], name: pm[2] };
    }
    const n = await this.node(target, target);
    return { kind: 'node', name: n.name };
  }

  async podIP(target: string, namespace: string, name: string, family: IpFamily = this.family): Promise<string> {
    const pod = await this.getObject('Pod', namespace, name);
    if (pod === undefined) throw new TargetError(target, `no pod ${namespace}/${name}`);
    const status = (pod.status ?? {}) as { podIP?: string; podIPs?: { ip?: string }[] };
    const ips = addresses(status.podIP, (status.podIPs ?? []).map((p) => p.ip));
    if (ips.length === 0) throw new TargetError(target, `pod ${namespace}/${name} has no IP (yet)`);
    const ip = ips.find((a) => isIP(a) === familyNumber(family));
    if (ip === undefined) throw new TargetError(target, `pod ${namespace}/${name} has no ${label(family)} address (podIPs: ${ips.join(', ')})`);
    return ip;
  }

  /** The address a probe or hold goes to. `port`/`protocol` given in the step win over the service's. */
  async address(target: string, port: number | undefined, protocol: Protocol | undefined): Promise<Address> {
    if (target.startsWith('service:')) return this.service(target, port, protocol);
    if (target.startsWith('nodeport:')) return this.nodePort(target, port, protocol);
    const ip = await this.ip(target);
    if (port === undefined) throw new TargetError(target, 'a port is required');
    return { ip, port, protocol: protocol ?? 'TCP' };
  }

  /** The IP of a pod, a node or an IP literal. */
  async ip(target: string): Promise<string> {
    if (isIP(target) !== 0) return target;
    const pm = POD_REF.exec(target);
    if (pm !== null) return this.podIP(target, pm[1], pm[2]);
    return this.nodeIP(target, target);
  }

  private async serviceObject(target: string, ref: string): Promise<{ svc: StoredObject; ports: ServicePort[] }> {
    const pm = POD_REF.exec(ref);
    if (pm === null) throw new TargetError(target, `'${ref}' is not namespace/name`);
    const svc = await this.getObject('Service', pm[1], pm[2]);
    if (svc === undefined) throw new TargetError(target, `no service ${ref}`);
    const spec = (svc.spec ?? {}) as { ports?: ServicePort[] };
    return { svc, ports: spec.ports ?? [] };
  }

  private async service(target: string, port: number | undefined, protocol: Protocol | undefined): Promise<Address> {
    const ref = target.slice('service:'.length);
    const { svc, ports } = await this.serviceObject(target, ref);
    const clusterIP = this.clusterIP(target, ref, svc);
    const sp = port === undefined ? ports[0] : ports.find((p) => p.port === port);
    if (port === undefined && sp?.port === undefined) throw new TargetError(target, 'the service has no ports');
    return { ip: clusterIP, port: port ?? (sp?.port as number), protocol: protocol ?? toProtocol(sp?.protocol) };
  }

  private async nodePort(target: string, port: number | undefined, protocol: Protocol | undefined): Promise<Address> {
    const rest = target.slice('nodeport:'.length);
    const at = rest.lastIndexOf('@');
    if (at < 0) throw new TargetError(target, 'expected nodeport:namespace/name@node');
    const { ports } = await this.serviceObject(target, rest.slice(0, at));
    const nodeIP = await this.nodeIP(target, rest.slice(at + 1));
    const sp = port === undefined ? ports[0] : (ports.find((p) => p.port === port) ?? ports.find((p) => p.nodePort === port));
    if (sp === undefined) throw new TargetError(target, port === undefined ? 'the service has no ports' : `the service has no port ${port}`);
    if (sp.nodePort === undefined) throw new TargetError(target, 'the service port has no nodePort (yet)');
    return { ip: nodeIP, port: sp.nodePort, protocol: protocol ?? toProtocol(sp.protocol) };
  }

  /** The ClusterIP of the run's family: spec.clusterIPs (clusterIP is its first entry). */
  private clusterIP(target: string, ref: string, svc: StoredObject): string {
    const spec = (svc.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
    const ips = addresses(spec.clusterIP, spec.clusterIPs ?? []).filter((a) => a !== 'None');
    if (ips.length === 0) throw new TargetError(target, 'the service has no ClusterIP (yet)');
    const ip = ips.find((a) => isIP(a) === familyNumber(this.family));
    if (ip === undefined) {
      throw new TargetError(target, `service ${ref} has no ${label(this.family)} ClusterIP (clusterIPs: ${ips.join(', ')}; ipFamilyPolicy PreferDualStack gives it one)`);
    }
    return ip;
  }

  /** The families the run's agents serve: an IPv6 run's agents are dual-stack (--enable-ipv6 besides IPv4). */
  private agentFamilies(): IpFamily[] {
    return this.family === 'ipv6' ? ['ipv4', 'ipv6'] : ['ipv4'];
  }

  /** What a template stands for in the run's family. */
  async template(ref: TemplateRef): Promise<string> {
    switch (ref.fn) {
      case 'ip':
        return this.podIP(`{{ip ${ref.namespace}/${ref.pod}}}`, ref.namespace, ref.pod);
      case 'net': {
        const t = `{{net ${ref.namespace}/${ref.pod} ${ref.bits}${ref.bits6 !== undefined ? ` ${ref.bits6}` : ''}}}`;
        const ip = await this.podIP(t, ref.namespace, ref.pod);
        try {
          return maskIP(ip, this.family === 'ipv6' && ref.bits6 !== undefined ? ref.bits6 : prefixFor(ref.bits, this.family));
        } catch (err) {
          throw new TargetError(t, (err as Error).message);
        }
      }
      case 'nodeip':
        return this.nodeIP(`{{nodeip ${ref.node}}}`, ref.node);
      case 'nets': {
        const t = `{{nets ${ref.namespace}/${ref.pod} ${ref.bits} ${ref.bits6}}}`;
        const ips = await Promise.all(this.agentFamilies().map((f) => this.podIP(t, ref.namespace, ref.pod, f)));
        return ips.map((ip) => maskIP(ip, isIP(ip) === 6 ? ref.bits6 : ref.bits)).join(', ');
      }
      case 'internal-ips': {
        const t = `{{internal-ips ${ref.node}}}`;
        const ips = await Promise.all(this.agentFamilies().map((f) => this.nodeIP(t, ref.node, f)));
        return ips.map((ip) => `{type: InternalIP, address: "${ip}"}`).join(', ');
      }
      default:
        return familyTemplate(ref, this.family);
    }
  }
}

/** The addresses of a primary field and its list (the primary is the list's first entry when both are set), deduplicated. */
function addresses(primary: string | undefined, list: (string | undefined)[]): string[] {
  const all = [primary, ...list].filter((a): a is string => a !== undefined && a !== '');
  return [...new Set(all)];
}

function label(family: IpFamily): string {
  return family === 'ipv4' ? 'IPv4' : 'IPv6';
}

function toProtocol(p: string | undefined): Protocol {
  return p === 'UDP' || p === 'SCTP' ? p : 'TCP';
}
