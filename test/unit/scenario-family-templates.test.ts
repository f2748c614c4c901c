// The family templates of `kube-router-lab run --family ipv4|ipv6`: every
// template in both families, the IPv6 twins of the mapped ranges, the
// errors naming a literal without a twin, and regex escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenarioText } from '../../src/lab/scenario/parse.js';
import { cidrFor, FamilyError, ipv6Twin, ipv6TwinCidr, prefixFor, vipFor, type IpFamily } from '../../src/lab/scenario/family.js';
import {
  escapeRegExp,
  familyTemplate,
  scanTemplates,
  substituteInRegExp,
  substituteTemplates,
  type TemplateRef,
} from '../../src/lab/scenario/template.js';

/** Substitutes the family templates of `text` (the cluster ones are not used here). */
function render(text: string, family: IpFamily, regex = false): Promise<string> {
  const resolve = async (ref: TemplateRef): Promise<string> => {
    if (ref.fn === 'ip' || ref.fn === 'net' || ref.fn === 'nets' || ref.fn === 'nodeip' || ref.fn === 'internal-ips') throw new Error(`unexpected ${ref.fn}`);
    return familyTemplate(ref, family);
  };
  return regex ? substituteInRegExp(text, resolve) : substituteTemplates(text, resolve);
}

const EACH: [template: string, ipv4: string, ipv6: string][] = [
  ['{{vip 10.96.100.10}}', '10.96.100.10', 'fd00:10:96::640a'],
  ['{{vip 198.51.100.20}}', '198.51.100.20', '2001:db8:51:100::20'],
  ['{{vip 203.0.113.10}}', '203.0.113.10', '2001:db8:203:113::10'],
  ['{{vip 192.168.56.11}}', '192.168.56.11', 'fd00:56::11'],
  ['{{vip 192.168.57.13}}', '192.168.57.13', 'fd00:57::13'],
  ['{{cidr 192.168.57.0/24}}', '192.168.57.0/24', 'fd00:57::/64'],
  ['{{vip 192.0.2.1}}', '192.0.2.1', '2001:db8:0:2::1'],
  ['{{hostport 10.96.100.10 80}}', '10.96.100.10:80', '[fd00:10:96::640a]:80'],
  ['{{cidr 10.96.0.0/12}}', '10.96.0.0/12', 'fd00:10:96::/112'],
  ['{{cidr 198.51.100.0/24}}', '198.51.100.0/24', '2001:db8:51:100::/120'],
  ['{{cidr 198.51.100.20/32}}', '198.51.100.20/32', '2001:db8:51:100::20/128'],
  ['{{cidr 203.0.113.0/24}}', '203.0.113.0/24', '2001:db8:203:113::/120'],
  ['{{cidr 192.0.2.0/24}}', '192.0.2.0/24', '2001:db8:0:2::/120'],
  ['{{iptables}}', 'iptables', 'ip6tables'],
  ['{{ip-family}}', '-4', '-6'],
  ['{{host-len}}', '32', '128'],
  ['{{family}}', 'IPv4', 'IPv6'],
  ['{{inet}}', 'inet', 'inet6'],
  ['{{ipv}}', 'ipv4', 'ipv6'],
  ['{{tunnel-kind}}', 'ipip', 'ip6tnl'],
  ['{{dsr-link}}', 'kube-tunnel-if', 'kube-tunnel-v6'],
  ['{{set kube-router-svip}}', 'kube-router-svip', 'inet6:kube-router-svip'],
];

test('every family template in both families', async () => {
  for (const [t, v4, v6] of EACH) {
    assert.equal(await render(t, 'ipv4'), v4, `${t} in ipv4`);
    assert.equal(await render(t, 'ipv6'), v6, `${t} in ipv6`);
  }
  assert.equal(await render('{{ iptables }} -t nat -S; ip {{ip-family}} addr', 'ipv6'), 'ip6tables -t nat -S; ip -6 addr');
});

test('the family templates parse to their refs', () => {
  assert.deepEqual(
    scanTemplates('{{vip 198.51.100.20}} {{cidr 10.96.0.0/12}} {{set foo}} {{iptables}} {{ip-family}} {{host-len}} {{family}} {{inet}}').map((u) => u.ref),
    [
      { fn: 'vip', ip: '198.51.100.20' },
      { fn: 'cidr', cidr: '10.96.0.0/12' },
      { fn: 'set', name: 'foo' },
      { fn: 'word', word: 'iptables' },
      { fn: 'word', word: 'ip-family' },
      { fn: 'word', word: 'host-len' },
      { fn: 'word', word: 'family' },
      { fn: 'word', word: 'inet' },
    ],
  );
});

test('a literal without an IPv6 twin is a parse error naming it, in either family', () => {
  assert.throws(() => scanTemplates('{{vip 8.8.8.8}}'), /template \{\{vip 8\.8\.8\.8\}\}: '8\.8\.8\.8': has no IPv6 twin \(mapped ranges: 10\.96\.0\.0\/12, 198\.51\.100\.0\/24/);
  assert.throws(() => scanTemplates('{{vip 10.97.0.1}}'), /'10\.97\.0\.1': only 10\.96\.0\.0\/16 of 10\.96\.0\.0\/12 has IPv6 twins/);
  assert.throws(() => scanTemplates('{{vip fd00::1}}'), /'fd00::1': is not an IPv4 address/);
  assert.throws(() => scanTemplates('{{hostport 10.96.0.1 x}}'), /expected \{\{hostport A\.B\.C\.D PORT\}\}/);
  assert.throws(() => scanTemplates('{{hostport 8.8.8.8 80}}'), /'8\.8\.8\.8': has no IPv6 twin/);
  assert.throws(() => scanTemplates('{{vip}}'), /expected \{\{vip A\.B\.C\.D\}\}/);
  assert.throws(() => scanTemplates('{{cidr 100.64.200.0/31}}'), /'100\.64\.200\.0\/31': has no IPv6 twin/);
  assert.throws(() => scanTemplates('{{cidr 10.0.0.0/8}}'), /'10\.0\.0\.0\/8': has no IPv6 twin/);
  assert.throws(() => scanTemplates('{{cidr 198.51.100.0}}'), /is not an IPv4 CIDR/);
  assert.throws(() => scanTemplates('{{set}}'), /expected \{\{set NAME\}\}/);
  assert.throws(() => scanTemplates('{{set inet6:foo}}'), /expected \{\{set NAME\}\}/);
  assert.throws(() => scanTemplates('{{iptables -t nat}}'), /\{\{iptables\}\} takes no argument/);
  assert.throws(() => scanTemplates('{{ip6tables}}'), /unknown template 'ip6tables' \(known: ip, net, nets, nodeip, internal-ips, vip, hostport, cidr, set, agent-args, iptables, ip-family, host-len, family, inet, ipv, tunnel-kind, dsr-link\)/);
  assert.throws(() => vipFor('8.8.8.8', 'ipv4'), (e: unknown) => e instanceof FamilyError && e.code === 'KR_ERR_LAB' && e.context.value === '8.8.8.8');
});

test('IPv6 twins: addresses and CIDRs of the mapped ranges', () => {
  assert.equal(ipv6Twin('10.96.0.1'), 'fd00:10:96::1');
  assert.equal(ipv6Twin('10.96.0.0'), 'fd00:10:96::');
  assert.equal(ipv6Twin('10.96.255.255'), 'fd00:10:96::ffff');
  assert.equal(ipv6Twin('192.168.56.254'), 'fd00:56::254', 'decimal text, as the topology writes fd00:56::1x');
  assert.equal(ipv6Twin('198.51.100.0'), '2001:db8:51:100::');
  assert.equal(ipv6TwinCidr('10.96.0.0/16'), 'fd00:10:96::/112', 'anything wider than a /16 of the Service range is the whole /112');
  assert.equal(ipv6TwinCidr('10.96.100.0/24'), 'fd00:10:96::6400/120');
  assert.equal(ipv6TwinCidr('10.96.100.10/32'), 'fd00:10:96::640a/128');
  assert.equal(ipv6TwinCidr('198.51.100.0/28'), '2001:db8:51:100::/124');
  assert.equal(ipv6TwinCidr('192.168.56.0/24'), 'fd00:56::/64', 'the whole underlay is its /64');
  assert.equal(ipv6Twin('192.168.57.13'), 'fd00:57::13', 'the second subnet: as the topology writes node3 behind the router');
  assert.equal(ipv6Twin('192.168.57.1'), 'fd00:57::1', 'the router\'s second-subnet side');
  assert.equal(ipv6TwinCidr('192.168.57.0/24'), 'fd00:57::/64', 'the whole second subnet is its /64');
  assert.equal(ipv6TwinCidr('192.168.57.13/32'), 'fd00:57::13/128');
  assert.equal(cidrFor('192.168.57.0/24', 'ipv6'), 'fd00:57::/64');
  assert.throws(() => ipv6Twin('192.168.58.1'), /has no IPv6 twin/, 'only the two lab subnets of 192.168.0.0/16');
  assert.throws(() => ipv6TwinCidr('10.100.0.0/16'), /only 10\.96\.0\.0\/16/);
  assert.throws(() => ipv6TwinCidr('198.51.0.0/16'), /has no IPv6 twin/, 'wider than the mapped /24');
  assert.throws(() => ipv6TwinCidr('198.51.100.0/33'), /too long/);
  assert.equal(cidrFor('198.51.100.0/24', 'ipv4'), '198.51.100.0/24');
  assert.equal(prefixFor(24, 'ipv4'), 24);
  assert.equal(prefixFor(24, 'ipv6'), 120);
  assert.equal(prefixFor(64, 'ipv6'), 64, 'an IPv6 length stays');
});

test('in a regular expression the substituted values are escaped', async () => {
  assert.equal(escapeRegExp('10.96.0.1 (a|b) [x] *+?^$ {1} \\'), '10\\.96\\.0\\.1 \\(a\\|b\\) \\[x\\] \\*\\+\\?\\^\\$ \\{1\\} \\\\');
  const v4 = await render('^-A -d {{vip 10.96.100.10}}/{{host-len}} .*$', 'ipv4', true);
  assert.equal(v4, '^-A -d 10\\.96\\.100\\.10/32 .*$', 'the pattern around the templates stays a pattern');
  assert.ok(new RegExp(v4).test('-A -d 10.96.100.10/32 -j KUBE'));
  assert.ok(!new RegExp(v4).test('-A -d 10x96y100z10/32 -j KUBE'), 'a dot of the address matches a dot only');
  const v6 = await render('{{vip 10.96.100.10}}', 'ipv6', true);
  assert.equal(v6, 'fd00:10:96::640a');
  assert.equal(await render('{{set foo.bar}}', 'ipv6', true), 'inet6:foo\\.bar');
  assert.equal(await render('{{vip 10.96.100.10}}', 'ipv4'), '10.96.100.10', 'outside a regex: as it is');
});

test('templates in exec cmd/expect/expectNot, probe and hold `to` are checked when the file is parsed', () => {
  const file = (step: string): string => `steps:\n  - ${step}\n`;
  const parse = (step: string) => parseScenarioText(file(step), 'f.yaml');
  assert.throws(() => parse('exec: {on: node1, cmd: "{{iptabels}} -S"}'), /f\.yaml: step 1 \(exec\): field 'cmd' template \{\{iptabels\}\}: unknown template 'iptabels'/);
  assert.throws(() => parse('exec: {on: node1, cmd: "true", expect: "{{vip 8.8.8.8}}"}'), /step 1 \(exec\): field 'expect' template \{\{vip 8\.8\.8\.8\}\}: '8\.8\.8\.8': has no IPv6 twin/);
  assert.throws(() => parse('exec: {on: node1, cmd: "true", expectNot: "({{family}}"}'), /field 'expectNot' is not a valid regular expression/);
  assert.throws(() => parse('probe: {from: node1, to: "{{vip 1.2.3.4}}", port: 80, expect: deny}'), /step 1 \(probe\): field 'to' template \{\{vip 1\.2\.3\.4\}\}/);
  assert.throws(() => parse('hold: {name: h, from: node1, to: "{{cidr 1.2.3.0/24}}", port: 80}'), /step 1 \(hold\): field 'to' template/);
  const ok = parseScenarioText(file('exec: {on: node1, cmd: "{{iptables}}-save", expect: "^-A .* -d {{vip 10.96.0.10}}/{{host-len}}"}'), 'f.yaml');
  assert.equal(ok.steps[0].kind, 'exec');
});

test('{{agent-args}}: the flags as given in IPv4; in IPv6 with --enable-ipv6 and the ranges twinned; a range without a twin refused', () => {
  const [use] = scanTemplates('kr-plan-vs-dump {{agent-args --loadbalancer-ip-range=203.0.113.10/31}}');
  assert.ok(use.ref.fn === 'agent-args');
  assert.equal(familyTemplate(use.ref, 'ipv4'), '--loadbalancer-ip-range=203.0.113.10/31');
  assert.equal(
    familyTemplate(use.ref, 'ipv6'),
    '--loadbalancer-ip-range=203.0.113.10/31,2001:db8:203:113::10/127 --enable-ipv6=true --service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112',
  );
  assert.throws(() => scanTemplates('{{agent-args --loadbalancer-ip-range=8.8.8.0/24}}'), /template \{\{agent-args --loadbalancer-ip-range=8\.8\.8\.0\/24\}\}: '8\.8\.8\.0\/24': has no IPv6 twin/);
  assert.throws(() => scanTemplates('{{agent-args}}'), /expected \{\{agent-args --flag\[=value\]\.\.\.\}\}/);
});
