// Node annotations of the routing controller: good and bad input; errors name the node and the annotation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClusterId, parseCommunity, parseGoUint, parseNodeAnnotations, toRoutingNode } from '../../src/controllers/routing/annotations.js';
import { node } from './routing-fixtures.test.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function parse(annotations: Record<string, string>) {
  return parseNodeAnnotations(node('worker-1', '10.0.0.1', '10.244.1.0/24', annotations));
}

function assertNamed(errors: { message: string; code: string }[], annotation: string): void {
  assert.ok(errors.length > 0, 'an error is expected');
  const e = errors.find((x) => x.message.includes(annotation));
  assert.ok(e, `an error names ${annotation}: ${errors.map((x) => x.message).join(' | ')}`);
  assert.match(e.message, /^Node worker-1: metadata\.annotations\[/);
  assert.equal(e.code, 'KR_ERR_OBJECT');
}

describe('Go-compatible number parsing', () => {
  it('parses like strconv.ParseUint(s, 0, bits)', () => {
    assert.equal(parseGoUint('64512', 32), 64512);
    assert.equal(parseGoUint('0x10', 32), 16);
    assert.equal(parseGoUint('010', 32), 8);
    assert.equal(parseGoUint('4294967295', 32), 4294967295);
    assert.equal(parseGoUint('4294967296', 32), undefined);
    assert.equal(parseGoUint('256', 8), undefined);
    assert.equal(parseGoUint('12a', 32), undefined);
    assert.equal(parseGoUint('', 32), undefined);
  });
  it('cluster ids are uint32 or IPv4, rendered dotted', () => {
    assert.equal(parseClusterId('1'), '0.0.0.1');
    assert.equal(parseClusterId('16909060'), '1.2.3.4');
    assert.equal(parseClusterId('10.0.0.1'), '10.0.0.1');
    assert.equal(parseClusterId('fd00::1'), undefined);
    assert.equal(parseClusterId('x'), undefined);
  });
  it('communities: uint32, AA:NN, well-known names', () => {
    assert.equal(parseCommunity('65000:100'), '65000:100');
    assert.equal(parseCommunity('4259840100'), '65000:100');
    assert.equal(parseCommunity('no-export'), '65535:65281');
    assert.equal(parseCommunity('blackhole'), '65535:666');
    assert.equal(parseCommunity('70000:1'), undefined);
    assert.equal(parseCommunity('nope'), undefined);
  });
});

describe('node annotations', () => {
  it('node.asn good and bad', () => {
    assert.equal(parse({ 'kube-router.io/node.asn': '65001' }).annotations.asn, 65001);
    const bad = parse({ 'kube-router.io/node.asn': 'sixty' });
    assert.equal(bad.annotations.asn, undefined);
    assertNamed(bad.errors, 'kube-router.io/node.asn');
  });

  it('rr.server / rr.client, server wins', () => {
    assert.equal(parse({ 'kube-router.io/rr.server': '42' }).annotations.rrServer, '0.0.0.42');
    assert.equal(parse({ 'kube-router.io/rr.client': '10.1.1.1' }).annotations.rrClient, '10.1.1.1');
    const both = parse({ 'kube-router.io/rr.server': '1', 'kube-router.io/rr.client': '1' }).annotations;
    assert.equal(both.rrServer, '0.0.0.1');
    assert.equal(both.rrClient, undefined);
    const bad = parse({ 'kube-router.io/rr.client': 'abc' });
    assert.equal(bad.annotations.rrClient, undefined);
    assertNamed(bad.errors, 'kube-router.io/rr.client');
  });

  it('YAML peers list', () => {
    const yaml = `- remoteip: 192.168.1.1\n  remoteasn: 65000\n  password: ${b64('s3cret')}\n  port: 1790\n  localip: 10.0.0.1\n- remoteip: 192.168.1.2\n  remoteasn: 65001\n  bfd:\n    enabled: true\n    detection_multiplier: 5\n`;
    const r = parse({ 'kube-router.io/peers': yaml });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.annotations.peers, [
      { remoteIp: '192.168.1.1', remoteAsn: 65000, localIp: '10.0.0.1', password: 's3cret', port: 1790 },
      { remoteIp: '192.168.1.2', remoteAsn: 65001, bfd: { enabled: true, detectionMultiplier: 5 } },
    ]);
  });

  it('YAML peers: missing remoteasn, bad password, bad YAML', () => {
    for (const text of ['- remoteip: 192.168.1.1\n', `- remoteip: 192.168.1.1\n  remoteasn: 65000\n  password: "not base64!"\n`, '- [oops', 'remoteip: 1.2.3.4']) {
      const r = parse({ 'kube-router.io/peers': text });
      assert.equal(r.annotations.peers, undefined, text);
      assertNamed(r.errors, 'kube-router.io/peers');
    }
    // The password is never echoed.
    const r = parse({ 'kube-router.io/peers': `- remoteip: 192.168.1.1\n  remoteasn: 65000\n  password: "zz!zz"\n` });
    assert.ok(!r.errors[0].message.includes('zz!zz'));
  });

  it('legacy peer.* lists, index-aligned, blanks allowed', () => {
    const r = parse({
      'kube-router.io/peer.ips': '192.168.1.1,192.168.1.2',
      'kube-router.io/peer.asns': '65000,65001',
      'kube-router.io/peer.passwords': `${b64('pw1')},`,
      'kube-router.io/peer.ports': ',1790',
      'kube-router.io/peer.localips': '10.0.0.1,',
    });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.annotations.peers, [
      { remoteIp: '192.168.1.1', remoteAsn: 65000, password: 'pw1', localIp: '10.0.0.1' },
      { remoteIp: '192.168.1.2', remoteAsn: 65001, port: 1790 },
    ]);
  });

  it('legacy peer.* with mismatched lengths: error naming node and annotation, no peers, rest unaffected', () => {
    const r = parse({
      'kube-router.io/peer.ips': '192.168.1.1,192.168.1.2',
      'kube-router.io/peer.asns': '65000',
      'kube-router.io/node.asn': '65010',
    });
    assert.equal(r.annotations.peers, undefined);
    assertNamed(r.errors, 'kube-router.io/peer.asns');
    assert.match(r.errors[0].message, /skipped/);
    assert.equal(r.annotations.asn, 65010);
    const ports = parse({ 'kube-router.io/peer.ips': '192.168.1.1', 'kube-router.io/peer.asns': '65000', 'kube-router.io/peer.ports': '1,2' });
    assertNamed(ports.errors, 'kube-router.io/peer.ports');
    const reserved = parse({ 'kube-router.io/peer.ips': '192.168.1.1', 'kube-router.io/peer.asns': '23456' });
    assertNamed(reserved.errors, 'kube-router.io/peer.asns');
  });

  it('bgp-local-addresses', () => {
    assert.deepEqual(parse({ 'kube-router.io/bgp-local-addresses': '10.0.0.1, fd00::1' }).annotations.bgpLocalAddresses, ['10.0.0.1', 'fd00::1']);
    const bad = parse({ 'kube-router.io/bgp-local-addresses': '10.0.0.1,nope' });
    assert.equal(bad.annotations.bgpLocalAddresses, undefined);
    assertNamed(bad.errors, 'kube-router.io/bgp-local-addresses');
  });

  it('communities: invalid ones skipped with an error, valid ones kept', () => {
    const r = parse({ 'kube-router.io/node.bgp.communities': '65000:1,bogus,no-export,100' });
    assert.deepEqual(r.annotations.communities, ['65000:1', '65535:65281', '0:100']);
    assertNamed(r.errors, 'kube-router.io/node.bgp.communities');
  });

  it('customimportreject: CIDRs of one family', () => {
    const r = parse({ 'kube-router.io/node.bgp.customimportreject': '192.168.0.0/16, 10.1.2.3/8, fd00::/8, junk' });
    assert.deepEqual(r.annotations.customImportReject, ['192.168.0.0/16', '10.0.0.0/8']);
    assert.equal(r.errors.length, 2);
    assertNamed(r.errors, 'kube-router.io/node.bgp.customimportreject');
  });

  it('path prepend: both required, n <= 255', () => {
    assert.deepEqual(parse({ 'kube-router.io/path-prepend.as': '65000', 'kube-router.io/path-prepend.repeat-n': '3' }).annotations.pathPrepend, {
      asn: 65000,
      repeat: 3,
    });
    const only = parse({ 'kube-router.io/path-prepend.as': '65000' });
    assert.equal(only.annotations.pathPrepend, undefined);
    assertNamed(only.errors, 'kube-router.io/path-prepend.repeat-n');
    const big = parse({ 'kube-router.io/path-prepend.as': '65000', 'kube-router.io/path-prepend.repeat-n': '256' });
    assert.equal(big.annotations.pathPrepend, undefined);
    assertNamed(big.errors, 'kube-router.io/path-prepend.repeat-n');
  });

  it('pod-cidr / pod-cidrs override the spec', () => {
    const n = toRoutingNode(node('worker-1', '10.0.0.1', '10.244.1.0/24', { 'kube-router.io/pod-cidrs': 'fd00:1::/64,10.245.0.1/24' })).node;
    assert.deepEqual(n.podCidrs, ['10.245.0.0/24', 'fd00:1::/64']);
    const legacy = toRoutingNode(node('worker-1', '10.0.0.1', undefined, { 'kube-router.io/pod-cidr': '10.246.0.0/24' })).node;
    assert.deepEqual(legacy.podCidrs, ['10.246.0.0/24']);
    const bad = toRoutingNode(node('worker-1', '10.0.0.1', '10.244.1.0/24', { 'kube-router.io/pod-cidrs': 'x' }));
    assert.deepEqual(bad.node.podCidrs, ['10.244.1.0/24']);
    assertNamed(bad.errors, 'kube-router.io/pod-cidrs');
  });

  it('a node without a pod CIDR: a warning naming it', () => {
    const r = toRoutingNode(node('worker-1', '10.0.0.1'));
    assert.deepEqual(r.node.podCidrs, []);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0].message, /^Node worker-1: spec\.podCIDR: no pod CIDR/);
  });

  it('primary IP: first InternalIP, else ExternalIP', () => {
    const n = node('w', undefined, '10.244.1.0/24');
    n.status = { addresses: [{ type: 'ExternalIP', address: '1.2.3.4' }, { type: 'InternalIP', address: '10.0.0.9' }, { type: 'Hostname', address: 'w' }] };
    assert.equal(toRoutingNode(n).node.primaryIp, '10.0.0.9');
    n.status = { addresses: [{ type: 'ExternalIP', address: '1.2.3.4' }] };
    assert.equal(toRoutingNode(n).node.primaryIp, '1.2.3.4');
  });
});
