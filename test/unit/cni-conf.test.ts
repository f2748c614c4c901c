// CNI conf rendering (insert, no-op, legacy subnet fold, unknown fields kept, MTU) and the atomic writer.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cniConfPath, cniMtu, readCniTemplate, renderCniConf, writeCniConf } from '../../src/controllers/routing/cni-conf.js';

const TEMPLATE = JSON.stringify({
  cniVersion: '0.3.0',
  name: 'mynet',
  plugins: [
    { name: 'kubernetes', type: 'bridge', bridge: 'kube-bridge', isDefaultGateway: true, hairpinMode: true, ipam: { type: 'host-local' } },
    { type: 'portmap', capabilities: { snat: true, portMappings: true } },
  ],
});

// any: the rendered conf is free-form JSON that the assertions walk into.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function rendered(existing: string | undefined, podCidrs: string[], mtu?: number): Record<string, any> {
  const r = renderCniConf(existing, TEMPLATE, mtu === undefined ? { podCidrs } : { podCidrs, mtu });
  assert.ok(r.changed);
  return JSON.parse(r.text);
}

describe('renderCniConf', () => {
  it('inserts the pod CIDRs into the bridge plugin as range sets and sets the MTU', () => {
    const c = rendered(undefined, ['10.244.1.0/24', 'fd00:244:1::/64'], 1480);
    assert.deepEqual(c.plugins[0].ipam, { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:244:1::/64' }]] });
    assert.equal(c.plugins[0].mtu, 1480);
    assert.deepEqual(c.plugins[1], { type: 'portmap', capabilities: { snat: true, portMappings: true } });
  });

  it('no-op when the CIDR and MTU are already there (formatting differences ignored)', () => {
    const once = renderCniConf(undefined, TEMPLATE, { podCidrs: ['10.244.1.0/24'], mtu: 1480 });
    assert.ok(once.changed);
    assert.deepEqual(renderCniConf(once.text, TEMPLATE, { podCidrs: ['10.244.1.0/24'], mtu: 1480 }), { changed: false });
    const compact = JSON.stringify(JSON.parse(once.text));
    assert.deepEqual(renderCniConf(compact, TEMPLATE, { podCidrs: ['10.244.1.0/24'], mtu: 1480 }), { changed: false });
    // auto-mtu off leaves the mtu alone
    assert.deepEqual(renderCniConf(once.text, TEMPLATE, { podCidrs: ['10.244.1.0/24'] }), { changed: false });
  });

  it('folds a legacy ipam.subnet of a .conf into ranges', () => {
    const legacy = JSON.stringify({ cniVersion: '0.3.0', name: 'mynet', type: 'bridge', bridge: 'kube-bridge', ipam: { type: 'host-local', subnet: '10.244.1.0/24' } });
    const c = rendered(legacy, ['10.244.1.0/24']);
    assert.deepEqual(c.ipam, { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]] });
    const other = rendered(legacy, ['10.244.7.0/24']);
    assert.deepEqual(other.ipam.ranges, [[{ subnet: '10.244.1.0/24' }], [{ subnet: '10.244.7.0/24' }]]);
  });

  it('keeps fields it does not own, and existing ranges with their options', () => {
    const existing = JSON.stringify({
      cniVersion: '0.4.0',
      name: 'custom',
      futureField: { x: 1 },
      plugins: [
        { type: 'bridge', bridge: 'kube-bridge', promiscMode: true, ipam: { type: 'host-local', dataDir: '/run/ipam', ranges: [[{ subnet: '10.244.1.0/24', gateway: '10.244.1.1' }]] } },
        { type: 'tuning', sysctl: { 'net.core.somaxconn': '512' } },
      ],
    });
    const c = rendered(existing, ['10.244.1.0/24', 'fd00::/64']);
    assert.equal(c.futureField.x, 1);
    assert.equal(c.cniVersion, '0.4.0');
    assert.equal(c.plugins[0].promiscMode, true);
    assert.equal(c.plugins[0].ipam.dataDir, '/run/ipam');
    assert.deepEqual(c.plugins[0].ipam.ranges, [[{ subnet: '10.244.1.0/24', gateway: '10.244.1.1' }], [{ subnet: 'fd00::/64' }]]);
    assert.deepEqual(c.plugins[1], { type: 'tuning', sysctl: { 'net.core.somaxconn': '512' } });
  });

  it('errors: bad JSON, no bridge plugin, bad CIDR', () => {
    assert.throws(() => renderCniConf('{nope', TEMPLATE, { podCidrs: [] }), { code: 'KR_ERR_CONFIG' });
    assert.throws(() => renderCniConf(JSON.stringify({ plugins: [{ type: 'ptp' }] }), TEMPLATE, { podCidrs: [] }), /bridge/);
    assert.throws(() => renderCniConf(undefined, TEMPLATE, { podCidrs: ['x'] }), /not a CIDR/);
  });

  it('auto-MTU: interface MTU, minus 20 with the IP-in-IP overlay', () => {
    assert.equal(cniMtu({ autoMtu: true, enableOverlay: true, interfaceMtu: 1500 }), 1480);
    assert.equal(cniMtu({ autoMtu: true, enableOverlay: false, interfaceMtu: 1500 }), 1500);
    assert.equal(cniMtu({ autoMtu: false, enableOverlay: true, interfaceMtu: 1500 }), undefined);
  });

  it('path from KUBE_ROUTER_CNI_CONF_FILE, default the .conflist', () => {
    assert.equal(cniConfPath({}), '/etc/cni/net.d/10-kuberouter.conflist');
    assert.equal(cniConfPath({ KUBE_ROUTER_CNI_CONF_FILE: '/x/10-kuberouter.conf' }), '/x/10-kuberouter.conf');
  });
});

describe('writeCniConf', () => {
  it('writes from the shipped template, then only when the content changes, leaving no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cni-'));
    const path = join(dir, '10-kuberouter.conflist');
    const template = await readCniTemplate(path);
    assert.match(template, /kube-bridge/);
    assert.deepEqual(await writeCniConf(path, template, { podCidrs: ['10.244.1.0/24'], mtu: 1480 }), { written: true });
    const first = await stat(path);
    assert.deepEqual(await writeCniConf(path, template, { podCidrs: ['10.244.1.0/24'], mtu: 1480 }), { written: false });
    assert.equal((await stat(path)).mtimeMs, first.mtimeMs);
    assert.deepEqual(await writeCniConf(path, template, { podCidrs: ['10.244.1.0/24'], mtu: 1400 }), { written: true });
    assert.equal(JSON.parse(await readFile(path, 'utf8')).plugins[0].mtu, 1400);
    assert.deepEqual(await readdir(dir), ['10-kuberouter.conflist']);
  });

  it('updates an existing legacy .conf in place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cni-'));
    const path = join(dir, '10-kuberouter.conf');
    await writeFile(path, JSON.stringify({ cniVersion: '0.3.0', name: 'mynet', type: 'bridge', bridge: 'kube-bridge', ipam: { type: 'host-local' } }));
    assert.deepEqual(await writeCniConf(path, await readCniTemplate(path), { podCidrs: ['10.244.2.0/24'] }), { written: true });
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')).ipam.ranges, [[{ subnet: '10.244.2.0/24' }]]);
  });
});
