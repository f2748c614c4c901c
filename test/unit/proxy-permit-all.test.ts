// --ipvs-permit-all (kube-router default true): KUBE-ROUTER-SERVICES, jumped
// to from INPUT for destinations in kube-router-svip. The chain's rules are
// run through a small evaluator of the rule shapes it uses (set matches with
// dst/src directions, ICMP types, the verdict), against the compiled sets,
// so the tests state what happens to a packet.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import { CHAIN_SERVICES, desiredFilter, desiredIpsets } from '../../src/controllers/proxy/reconcile-tables.js';
import { inAnyCidr, parseCidr } from '../../src/controllers/proxy/validate-ip.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { IpsetSet } from '../../src/kernel/ipset/types.js';
import { ctx, ep, NODE_IP, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, newController, nodeObject } from './proxy-controller-helpers.js';

interface Packet {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  port?: number;
  icmpType?: string;
  /** conntrack state (default NEW). */
  state?: 'NEW' | 'ESTABLISHED' | 'RELATED';
}

function setHas(set: IpsetSet, dirs: string[], p: Packet): boolean {
  const field = (d: string): string => (d === 'src' ? p.src : p.dst);
  const key = dirs.map((d, i) => (i === 1 ? `${p.proto}:${p.port ?? 0}` : field(d)));
  for (const e of set.entries) {
    const parts = e.split(',');
    if (parts.length !== key.length) continue;
    const ok = parts.every((v, i) => {
      if (i === 1) return v === key[1];
      if (set.type === 'hash:ip,port,net' && i === 2) {
        const c = parseCidr(v.includes('/') ? v : `${v}/32`);
        return c !== undefined && inAnyCidr(key[2], [c]);
      }
      return v === key[i];
    });
    if (ok) return true;
  }
  return false;
}

/** The verdict of KUBE-ROUTER-SERVICES for a packet: a target, or RETURN when no rule matched. */
function verdict(rules: readonly string[], sets: readonly IpsetSet[], p: Packet): string {
  const byName = new Map(sets.map((s) => [s.name, s]));
  for (const rule of rules) {
    const w = rule.split(/\s+/);
    let match = true;
    let target = '';
    for (let i = 0; i < w.length && match; i++) {
      if (w[i] === '-m' && w[i + 1] === 'set') {
        const neg = w[i + 2] === '!';
        const j = neg ? i + 3 : i + 2;
        assert.equal(w[j], '--match-set', rule);
        const set = byName.get(w[j + 1]);
        assert.ok(set, `rule names a set that is not desired: ${w[j + 1]}`);
        const has = setHas(set, w[j + 2].split(','), p);
        match = neg ? !has : has;
        i = j + 2;
      } else if (w[i] === '-p') {
        match = w[i + 1] === p.proto;
        i++;
      } else if (w[i] === '-m' && w[i + 1] === 'conntrack') {
        assert.equal(w[i + 2], '--ctstate', rule);
        match = w[i + 3].split(',').includes(p.state ?? 'NEW');
        i += 3;
      } else if (w[i] === '--icmp-type') {
        match = w[i + 1] === p.icmpType;
        i++;
      } else if (w[i] === '-j') {
        target = w[i + 1];
        break;
      }
    }
    if (match) return target;
  }
  return 'RETURN';
}

const LB_IP = '198.51.100.7';

function state(permitAll: boolean): { rules: readonly string[]; sets: IpsetSet[] } {
  const s = svc({
    type: 'LoadBalancer',
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
    status: { loadBalancer: { ingress: [{ ip: LB_IP }] } },
  });
  const c = compileService(s, [slice({ endpoints: [ep('10.244.1.5')] })], ctx());
  const sets = desiredIpsets({ services: [c], localIPs: [NODE_IP, '172.16.0.10'], nodeIP: NODE_IP, podCidr: '', masqueradeAll: false, permitAll });
  return { rules: desiredFilter({ permitAll }).chains.get(CHAIN_SERVICES) ?? [], sets };
}

test('--ipvs-permit-all=true: served VIP:port accepted, other ports on a VIP rejected, node addresses left to the host', () => {
  const { rules, sets } = state(true);
  const from = '192.0.2.1';
  assert.equal(verdict(rules, sets, { src: from, dst: '10.96.0.10', proto: 'tcp', port: 80 }), 'ACCEPT');
  assert.equal(verdict(rules, sets, { src: from, dst: LB_IP, proto: 'tcp', port: 80 }), 'ACCEPT');
  assert.equal(verdict(rules, sets, { src: from, dst: '10.96.0.10', proto: 'tcp', port: 22 }), 'REJECT');
  assert.equal(verdict(rules, sets, { src: from, dst: '10.96.0.10', proto: 'udp', port: 80 }), 'REJECT');
  assert.equal(verdict(rules, sets, { src: from, dst: LB_IP, proto: 'tcp', port: 443 }), 'REJECT');
  assert.equal(verdict(rules, sets, { src: from, dst: '10.96.0.10', proto: 'icmp', icmpType: 'echo-request' }), 'ACCEPT');
  // The NodePort's address is the node's own: its served port is accepted, other ports go on to the host's rules.
  assert.equal(verdict(rules, sets, { src: from, dst: NODE_IP, proto: 'tcp', port: 30080 }), 'ACCEPT');
  assert.equal(verdict(rules, sets, { src: from, dst: NODE_IP, proto: 'tcp', port: 22 }), 'RETURN');
  // The reply to a connection the node opened to its own ClusterIP (it leaves from the VIP; IPVS undoes the NAT after INPUT).
  assert.equal(verdict(rules, sets, { src: '10.244.1.5', dst: '10.96.0.10', proto: 'tcp', port: 45000, state: 'ESTABLISHED' }), 'ACCEPT');
  assert.equal(verdict(rules, sets, { src: '10.244.1.5', dst: '10.96.0.10', proto: 'tcp', port: 45000 }), 'REJECT');
});

test('--ipvs-permit-all=false: the proxy leaves traffic to VIPs to the host (kube-router leaves its chain empty)', () => {
  const { rules, sets } = state(false);
  const from = '192.0.2.1';
  for (const p of [
    { src: from, dst: '10.96.0.10', proto: 'tcp' as const, port: 80 },
    { src: from, dst: '10.96.0.10', proto: 'tcp' as const, port: 22 },
    { src: from, dst: LB_IP, proto: 'tcp' as const, port: 443 },
    { src: from, dst: NODE_IP, proto: 'tcp' as const, port: 22 },
  ]) {
    assert.equal(verdict(rules, sets, p), 'RETURN', JSON.stringify(p));
  }
});

test('the source-range drop applies with either value of the flag', () => {
  const s = svc({
    type: 'LoadBalancer',
    spec: { loadBalancerSourceRanges: ['10.0.0.0/8'] },
    status: { loadBalancer: { ingress: [{ ip: LB_IP }] } },
  });
  const c = compileService(s, [slice({ endpoints: [ep('10.244.1.5')] })], ctx());
  for (const permitAll of [true, false]) {
    const sets = desiredIpsets({ services: [c], localIPs: [NODE_IP], nodeIP: NODE_IP, podCidr: '', masqueradeAll: false, permitAll });
    const rules = desiredFilter({ permitAll }).chains.get(CHAIN_SERVICES) ?? [];
    assert.equal(verdict(rules, sets, { src: '192.0.2.1', dst: LB_IP, proto: 'tcp', port: 80 }), 'DROP');
    assert.equal(verdict(rules, sets, { src: '10.1.1.1', dst: LB_IP, proto: 'tcp', port: 80 }), permitAll ? 'ACCEPT' : 'RETURN');
  }
});

test('controller: the flag decides the chain the kernel holds; changing it across a restart rewrites the chain', async () => {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  cache.add('Service', svc());
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')] }));
  const k = fakeKernels();
  await newController(cache, k).sync();
  const on = k.iptablesKernel.rules('filter', CHAIN_SERVICES) ?? [];
  assert.equal(on.length, 7);
  assert.ok(on.some((r) => r.includes('kube-router-svip-prt dst,dst -j ACCEPT')));
  assert.ok(on.at(-1)?.includes('! --match-set kube-router-local-ips dst -j REJECT'));
  await newController(cache, k, { ipvsPermitAll: false }).sync();
  const off = k.iptablesKernel.rules('filter', CHAIN_SERVICES) ?? [];
  assert.equal(off.length, 1);
  assert.ok(off[0].endsWith('-j DROP'));
  assert.equal((k.iptablesKernel.rules('filter', 'INPUT') ?? []).filter((r) => r.includes(`-j ${CHAIN_SERVICES}`)).length, 1);
});
