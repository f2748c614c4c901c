// The lab's external BGP peer (BIRD 2): its config, checked by BIRD's own
// parser when bird is installed (`bird -p`), and the pod CIDRs it announces.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { birdConfig, PEER_OTHER_PREFIX, PEER_OTHER_PREFIX6 } from '../../src/lab/guest/bird-peer.js';
import { BIRD_BINARY, nodePodCidrs } from '../../src/lab/guest/lab-cluster-peer.js';
import type { ObjectStore } from '../../src/lab/apiserver/types.js';

const input = {
  routerId: '192.168.56.254',
  asn: 64513,
  neighbors: [
    { name: 'node1', ip: '192.168.56.11', asn: 64512 },
    { name: 'node2', ip: '192.168.56.12', asn: 64512 },
  ],
  announce: ['10.244.0.0/24', PEER_OTHER_PREFIX],
  logFile: '/run/lab/peer/bird.log',
};

describe('lab external peer (BIRD)', () => {
  it('peers with every node, announces only its static routes, imports everything', () => {
    const c = birdConfig(input);
    assert.match(c, /^router id 192\.168\.56\.254;$/m);
    assert.match(c, /^protocol bgp node1 from lab_node \{ neighbor 192\.168\.56\.11 as 64512; \}$/m);
    assert.match(c, /^protocol bgp node2 from lab_node \{ neighbor 192\.168\.56\.12 as 64512; \}$/m);
    assert.match(c, /local 192\.168\.56\.254 as 64513;/);
    assert.match(c, /^ {2}route 10\.244\.0\.0\/24 blackhole;$/m);
    assert.match(c, /^ {2}route 172\.20\.0\.0\/24 blackhole;$/m);
    assert.match(c, /import all; export filter lab_export;/);
    assert.doesNotMatch(c, /protocol kernel/);
  });

  it('refuses input BIRD would refuse, naming it', () => {
    assert.throws(() => birdConfig({ ...input, announce: ['10.244.0.0/33'] }), /announce: not an IPv4 or IPv6 CIDR: "10\.244\.0\.0\/33"/);
    assert.throws(() => birdConfig({ ...input, announce: ['fd00:10:244::/64'] }), /announce: fd00:10:244::\/64 is IPv6 but the peer has no IPv6 address/);
    assert.throws(() => birdConfig({ ...input, neighbors: [{ name: 'node-1', ip: '192.168.56.11', asn: 64512 }] }), /"node-1" is not a BIRD protocol name/);
    assert.throws(() => birdConfig({ ...input, routerId: '300.1.1.1' }), /router id: not an IPv4 address/);
  });

  const dual = { ...input, ip6: 'fd00:56::254', announce: [...input.announce, 'fd00:10:244::/64', PEER_OTHER_PREFIX6] };

  it('dual-stack: an ipv6 channel on the same IPv4 sessions, next hop its IPv6 address, IPv6 statics exported', () => {
    const c = birdConfig(dual);
    assert.match(c, /^ {2}ipv6 \{ import all; export filter lab_export; next hop address fd00:56::254; \};$/m);
    assert.match(c, /protocol static lab_announce6 \{\n {2}ipv6;\n {2}route fd00:10:244::\/64 blackhole;\n {2}route 2001:db8:172:20::\/120 blackhole;\n\}/);
    assert.match(c, /if proto = "lab_announce" \|\| proto = "lab_announce6" then accept/);
    assert.doesNotMatch(birdConfig(input), /ipv6/);
  });

  for (const [name, cfg] of [['IPv4', input], ['dual-stack', dual]] as const) {
    it(`BIRD parses the ${name} config (bird -p)`, { skip: existsSync(BIRD_BINARY) ? false : 'bird2 not installed' }, () => {
      const dir = mkdtempSync(join(tmpdir(), 'krt-bird-'));
      try {
        const conf = join(dir, 'bird.conf');
        writeFileSync(conf, birdConfig({ ...cfg, logFile: join(dir, 'bird.log') }));
        execFileSync(BIRD_BINARY, ['-p', '-c', conf], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('announces the pod CIDRs of the topology nodes only (IPv6 ones in a dual-stack lab)', () => {
    const items = [
      { metadata: { name: 'node1' }, spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24', 'fd00::/64'] } },
      { metadata: { name: 'node2' }, spec: { podCIDR: '10.244.1.0/24' } },
      { metadata: { name: 'fake9' }, spec: { podCIDR: '10.244.9.0/24' } },
      { metadata: { name: 'node3' } },
    ];
    // Only list() is used (a structural stand-in for the lab store).
    const store = { list: () => ({ items, resourceVersion: '1' }) } as unknown as ObjectStore;
    assert.deepEqual(nodePodCidrs(store, ['node1', 'node2', 'node3']), ['10.244.0.0/24', '10.244.1.0/24']);
    assert.deepEqual(nodePodCidrs(store, ['node1', 'node2', 'node3'], true), ['10.244.0.0/24', '10.244.1.0/24', 'fd00::/64']);
  });
});
