// The lab API server over HTTPS: the REST protocol the agent's reflectors
// and kubectl rely on (errors as Status objects, paging, watches, bookmarks,
// 410 Gone, subresources, patches, graceful deletion, lifecycle).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startLabApiServer, type RunningLabApiServer } from '../../src/lab/apiserver/index.js';
import { LabApiClient } from '../../src/lab/apiserver/http-client.js';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; resourceVersion: string } };
type List = { kind: string; metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }; items: Obj[] };
type Status = { kind: string; apiVersion: string; status: string; reason: string; code: number; message: string; details?: Record<string, unknown> };

function svc(name: string, labels: Record<string, string> = {}, port = 80): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { selector: { app: name }, ports: [{ port }] } };
}

function assertStatus(body: unknown, code: number, reason: string): Status {
  const s = body as Status;
  assert.equal(s.kind, 'Status');
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.status, 'Failure');
  assert.equal(s.code, code);
  assert.equal(s.reason, reason);
  return s;
}

describe('lab API server REST protocol', () => {
  let srv: RunningLabApiServer;
  let api: LabApiClient;

  before(async () => {
    srv = await startLabApiServer({ port: 0, bookmarkIntervalMs: 100 });
    api = new LabApiClient(srv);
    const ns = await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'proto' } });
    assert.equal(ns.code, 201);
  });

  after(async () => {
    api.close();
    await srv.close();
  });

  it('answers 401 Unauthorized without the bearer token, but serves /healthz', async () => {
    const anon = new LabApiClient(srv, { token: null });
    const wrong = new LabApiClient(srv, { token: 'nope' });
    try {
      assertStatus((await anon.request('GET', '/api/v1/pods')).body, 401, 'Unauthorized');
      assert.equal((await wrong.request('GET', '/api/v1/pods')).code, 401);
      const h = await anon.request('GET', '/healthz');
      assert.equal(h.code, 200);
      assert.equal(h.text, 'ok');
    } finally {
      anon.close();
      wrong.close();
    }
  });

  it('serves discovery: /version, /api, /api/v1, /apis, a group version', async () => {
    const v = await api.request<{ major: string; gitVersion: string }>('GET', '/version');
    assert.equal(v.body.major, '1');
    const core = await api.request<{ resources: { name: string; shortNames?: string[]; namespaced: boolean; kind: string }[] }>('GET', '/api/v1');
    const svcs = core.body.resources.find((r) => r.name === 'services');
    assert.deepEqual(svcs?.shortNames, ['svc']);
    assert.ok(core.body.resources.some((r) => r.name === 'pods/status'));
    assert.equal(core.body.resources.find((r) => r.name === 'nodes')?.namespaced, false);
    const groups = await api.request<{ kind: string; groups: { name: string }[] }>('GET', '/apis');
    assert.equal(groups.body.kind, 'APIGroupList');
    assert.deepEqual(groups.body.groups.map((g) => g.name).sort(), ['apps', 'coordination.k8s.io', 'discovery.k8s.io', 'networking.k8s.io', 'rbac.authorization.k8s.io']);
    const np = await api.request<{ resources: { name: string; shortNames?: string[] }[] }>('GET', '/apis/networking.k8s.io/v1');
    assert.deepEqual(np.body.resources.find((r) => r.name === 'networkpolicies')?.shortNames, ['netpol']);
    const agg = await api.request('GET', '/apis', undefined, 'application/json', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    assert.match(String(agg.headers['content-type']), /as=APIGroupDiscoveryList/);
    assertStatus((await api.request('GET', '/apis/example.com/v1/things')).body, 404, 'NotFound');
  });

  it('creates with defaults, and answers each error with its Status code and reason', async () => {
    const created = await api.request<Obj>('POST', '/api/v1/namespaces/proto/services', svc('errs'));
    assert.equal(created.code, 201);
    const spec = created.body.spec as Record<string, unknown>;
    assert.equal(spec.type, 'ClusterIP');
    assert.equal(spec.sessionAffinity, 'None');
    assert.deepEqual(spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal(spec.internalTrafficPolicy, 'Cluster');
    assert.ok(created.body.metadata.uid);
    assert.ok(created.body.metadata.creationTimestamp);

    const dup = await api.request('POST', '/api/v1/namespaces/proto/services', svc('errs'));
    const s409 = assertStatus(dup.body, 409, 'AlreadyExists');
    assert.equal(s409.message, 'services "errs" already exists');
    assertStatus((await api.request('GET', '/api/v1/namespaces/proto/services/nope')).body, 404, 'NotFound');

    const badPort = await api.request('POST', '/api/v1/namespaces/proto/services', svc('badport', {}, 0));
    const inv = assertStatus(badPort.body, 422, 'Invalid');
    assert.match(inv.message, /spec\.ports\[0\]\.port: Invalid value: 0: must be between 1 and 65535, inclusive/);
    const noName = await api.request('POST', '/api/v1/namespaces/proto/services', { spec: { ports: [{ port: 1 }] } });
    assert.match(assertStatus(noName.body, 422, 'Invalid').message, /metadata\.name: Required value/);
    const badName = await api.request('POST', '/api/v1/namespaces/proto/services', svc('Bad_Name'));
    assert.match(assertStatus(badName.body, 422, 'Invalid').message, /DNS-1035/);
    const noPorts = await api.request('POST', '/api/v1/namespaces/proto/services', { metadata: { name: 'noports' }, spec: {} });
    assert.match(assertStatus(noPorts.body, 422, 'Invalid').message, /spec\.ports: Required value/);
    const headless = await api.request('POST', '/api/v1/namespaces/proto/services', { metadata: { name: 'headless' }, spec: { clusterIP: 'None' } });
    assert.equal(headless.code, 201);
    const missingNs = await api.request('POST', '/api/v1/namespaces/ghost/services', svc('x'));
    assert.equal(assertStatus(missingNs.body, 404, 'NotFound').message, 'namespaces "ghost" not found');

    assertStatus((await api.request('GET', '/api/v1/namespaces/proto/services?labelSelector=a%20in%20(')).body, 400, 'BadRequest');
    assertStatus((await api.request('GET', '/api/v1/pods?fieldSelector=spec.bogus%3Dx')).body, 400, 'BadRequest');
    assertStatus((await api.request('PUT', '/api/v1/namespaces/proto/services', svc('x'))).body, 405, 'MethodNotAllowed');
    assertStatus((await api.request('PATCH', '/api/v1/namespaces/proto/services/errs', '{}', 'text/plain')).body, 415, 'UnsupportedMediaType');

    const stale = { ...created.body, metadata: { ...created.body.metadata, labels: { x: 'y' } } };
    const first = await api.request<Obj>('PUT', '/api/v1/namespaces/proto/services/errs', stale);
    assert.equal(first.code, 200);
    assert.notEqual(first.body.metadata.resourceVersion, created.body.metadata.resourceVersion);
    const again = await api.request('PUT', '/api/v1/namespaces/proto/services/errs', stale);
    assert.match(assertStatus(again.body, 409, 'Conflict').message, /the object has been modified/);
  });

  it('lists with limit/continue consistently at the first page resourceVersion', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await api.request('POST', '/api/v1/namespaces/proto/services', svc(`page-${i}`, { paged: 'yes' }))).code, 201);
    const p1 = await api.request<List>('GET', '/api/v1/namespaces/proto/services?labelSelector=paged%3Dyes&limit=2');
    assert.equal(p1.body.kind, 'ServiceList');
    assert.deepEqual(p1.body.items.map((o) => o.metadata.name), ['page-0', 'page-1']);
    assert.ok(p1.body.metadata.continue);
    // Items of a list carry no kind/apiVersion, as kube-apiserver writes them.
    assert.equal(p1.body.items[0].kind, undefined);
    // Changes after the first page must not show in the next pages.
    await api.request('DELETE', '/api/v1/namespaces/proto/services/page-3');
    await api.request('POST', '/api/v1/namespaces/proto/services', svc('page-9', { paged: 'yes' }));
    await api.request('PATCH', '/api/v1/namespaces/proto/services/page-2', { metadata: { labels: { changed: 'true' } } }, 'application/merge-patch+json');
    const p2 = await api.request<List>('GET', `/api/v1/namespaces/proto/services?labelSelector=paged%3Dyes&limit=2&continue=${p1.body.metadata.continue}`);
    assert.deepEqual(p2.body.items.map((o) => o.metadata.name), ['page-2', 'page-3']);
    assert.equal(p2.body.items[0].metadata.labels && (p2.body.items[0].metadata.labels as Record<string, string>).changed, undefined);
    assert.equal(p2.body.metadata.resourceVersion, p1.body.metadata.resourceVersion);
    const p3 = await api.request<List>('GET', `/api/v1/namespaces/proto/services?labelSelector=paged%3Dyes&limit=2&continue=${p2.body.metadata.continue}`);
    assert.deepEqual(p3.body.items.map((o) => o.metadata.name), ['page-4']);
    assert.equal(p3.body.metadata.continue, undefined);
    // A fresh list sees the changes.
    const now = await api.request<List>('GET', '/api/v1/namespaces/proto/services?labelSelector=paged%3Dyes');
    assert.deepEqual(now.body.items.map((o) => o.metadata.name), ['page-0', 'page-1', 'page-2', 'page-4', 'page-9']);
  });

  it('supports the full label selector syntax and field selectors', async () => {
    const mk = (name: string, labels: Record<string, string>, nodeName?: string): Record<string, unknown> => ({
      metadata: { name, labels },
      spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80 }] }] },
    });
    await api.request('POST', '/api/v1/namespaces/proto/pods', mk('sel-a', { tier: 'web', env: 'prod' }, 'n1'));
    await api.request('POST', '/api/v1/namespaces/proto/pods', mk('sel-b', { tier: 'db', env: 'dev' }, 'n2'));
    await api.request('POST', '/api/v1/namespaces/proto/pods', mk('sel-c', { tier: 'web' }));
    const names = async (q: string): Promise<string[]> =>
      (await api.request<List>('GET', `/api/v1/namespaces/proto/pods?${q}`)).body.items.map((o) => o.metadata.name).filter((n) => n.startsWith('sel-'));
    assert.deepEqual(await names('labelSelector=tier%3Dweb'), ['sel-a', 'sel-c']);
    assert.deepEqual(await names('labelSelector=tier%3D%3Dweb'), ['sel-a', 'sel-c']);
    assert.deepEqual(await names('labelSelector=tier!%3Dweb'), ['sel-b']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('env in (prod,dev)')}`), ['sel-a', 'sel-b']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('tier,env notin (dev)')}`), ['sel-a', 'sel-c']);
    assert.deepEqual(await names('labelSelector=env'), ['sel-a', 'sel-b']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('!env')}`), ['sel-c']);
    assert.deepEqual(await names('fieldSelector=spec.nodeName%3Dn1'), ['sel-a']);
    assert.deepEqual(await names('fieldSelector=metadata.name%3Dsel-b'), ['sel-b']);
    assert.deepEqual(await names('fieldSelector=spec.nodeName%3D'), ['sel-c']);
    const pod = (await api.request<Obj>('GET', '/api/v1/namespaces/proto/pods/sel-a')).body;
    assert.equal((pod.status as Record<string, unknown>).phase, 'Pending');
    const containers = (pod.spec as { containers: { ports: { protocol: string }[] }[] }).containers;
    assert.equal(containers[0].ports[0].protocol, 'TCP');
    const all = await api.request<List>('GET', '/api/v1/pods?fieldSelector=metadata.namespace%3Dproto');
    assert.ok(all.body.items.length >= 3);
  });

  it('watches from a resourceVersion, with synthetic ADDED from 0 and selector transitions', async () => {
    const c = await api.request<Obj>('POST', '/api/v1/namespaces/proto/services', svc('w1', { watch: 'a' }));
    const rv = c.body.metadata.resourceVersion;
    await api.request('PATCH', '/api/v1/namespaces/proto/services/w1', { metadata: { annotations: { n: '1' } } }, 'application/merge-patch+json');
    const from = await api.watch(`/api/v1/namespaces/proto/services?watch=true&resourceVersion=${rv}&labelSelector=watch`);
    try {
      assert.equal(from.code, 200);
      const ev = await from.next();
      assert.equal(ev.type, 'MODIFIED');
      assert.equal(ev.object.kind, 'Service');
      assert.equal((ev.object.metadata?.annotations as Record<string, string>).n, '1');
      // Label removed: the object leaves the selector -> DELETED.
      await api.request('PATCH', '/api/v1/namespaces/proto/services/w1', [{ op: 'remove', path: '/metadata/labels/watch' }], 'application/json-patch+json');
      assert.equal((await from.next()).type, 'DELETED');
      await api.request('PATCH', '/api/v1/namespaces/proto/services/w1', { metadata: { labels: { watch: 'b' } } }, 'application/strategic-merge-patch+json');
      assert.equal((await from.next()).type, 'ADDED');
    } finally {
      from.close();
    }
    const zero = await api.watch('/api/v1/namespaces/proto/services?watch=1&resourceVersion=0&fieldSelector=metadata.name%3Dw1');
    try {
      const ev = await zero.next();
      assert.equal(ev.type, 'ADDED');
      assert.equal(ev.object.metadata?.name, 'w1');
      await api.request('DELETE', '/api/v1/namespaces/proto/services/w1');
      const del = await zero.next();
      assert.equal(del.type, 'DELETED');
      assert.ok(Number(del.object.metadata?.resourceVersion) > Number(ev.object.metadata?.resourceVersion));
    } finally {
      zero.close();
    }
  });

  it('sends BOOKMARKs with the current global resourceVersion when asked', async () => {
    const w = await api.watch('/apis/networking.k8s.io/v1/networkpolicies?watch=true&allowWatchBookmarks=true&resourceVersion=0');
    try {
      // A write to another kind moves the global resourceVersion; the bookmark follows it.
      const c = await api.request<Obj>('POST', '/api/v1/namespaces/proto/services', svc('bm'));
      const bm = await w.next(3000, (l) => l.type === 'BOOKMARK' && Number(l.object.metadata?.resourceVersion) >= Number(c.body.metadata.resourceVersion));
      assert.equal(bm.object.kind, 'NetworkPolicy');
      assert.equal(bm.object.metadata?.resourceVersion, srv.store.resourceVersion());
    } finally {
      w.close();
    }
    // Streaming lists (sendInitialEvents): the initial ADDED events end with a marked bookmark.
    const wl = await api.watch('/api/v1/namespaces?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan');
    try {
      const initial = await wl.next();
      assert.equal(initial.type, 'ADDED');
      const end = await wl.next(3000, (l) => l.type === 'BOOKMARK');
      assert.equal((end.object.metadata?.annotations as Record<string, string>)['k8s.io/initial-events-end'], 'true');
      assert.equal(end.object.metadata?.resourceVersion, srv.store.resourceVersion());
    } finally {
      wl.close();
    }
    const noBm = await api.watch('/apis/networking.k8s.io/v1/networkpolicies?watch=true&resourceVersion=0');
    try {
      await new Promise((r) => setTimeout(r, 350));
      assert.equal(noBm.pending().filter((l) => l.type === 'BOOKMARK').length, 0);
    } finally {
      noBm.close();
    }
  });

  it('answers 410 Expired after compact(): watch ERROR event, exact list and continue', async () => {
    await api.request('POST', '/api/v1/namespaces/proto/services', svc('gone-a', { gone: 'x' }));
    await api.request('POST', '/api/v1/namespaces/proto/services', svc('gone-b', { gone: 'x' }));
    const p1 = await api.request<List>('GET', '/api/v1/namespaces/proto/services?labelSelector=gone&limit=1');
    const old = p1.body.metadata.resourceVersion;
    await api.request('DELETE', '/api/v1/namespaces/proto/services/gone-a');
    srv.compact();
    const w = await api.watch(`/api/v1/namespaces/proto/services?watch=true&resourceVersion=${Number(old) - 1}`);
    assert.equal(w.code, 200);
    const err = await w.next();
    assert.equal(err.type, 'ERROR');
    const st = assertStatus(err.object, 410, 'Expired');
    assert.match(st.message, /^too old resource version: \d+ \(\d+\)$/);
    await w.waitEnd();
    const cont = await api.request('GET', `/api/v1/namespaces/proto/services?labelSelector=gone&limit=1&continue=${p1.body.metadata.continue}`);
    assertStatus(cont.body, 410, 'Expired');
    const exact = await api.request('GET', `/api/v1/namespaces/proto/services?resourceVersion=${old}&resourceVersionMatch=Exact`);
    assertStatus(exact.body, 410, 'Expired');
    // The current version still works.
    const cur = srv.store.resourceVersion();
    const ok = await api.watch(`/api/v1/namespaces/proto/services?watch=true&resourceVersion=${cur}`);
    await api.request('POST', '/api/v1/namespaces/proto/services', svc('gone-c'));
    assert.equal((await ok.next()).type, 'ADDED');
    ok.close();
  });

  it('keeps /status and the main resource apart', async () => {
    const c = await api.request<Obj>('POST', '/api/v1/namespaces/proto/pods', { metadata: { name: 'st' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    const withStatus = { ...c.body, status: { phase: 'Running', podIP: '10.244.0.9' }, spec: { ...(c.body.spec as object), nodeName: 'ignored-by-status' } };
    const s = await api.request<Obj>('PUT', '/api/v1/namespaces/proto/pods/st/status', withStatus);
    assert.equal(s.code, 200);
    assert.equal((s.body.status as Record<string, unknown>).podIP, '10.244.0.9');
    assert.equal((s.body.spec as Record<string, unknown>).nodeName, undefined);
    const main = await api.request<Obj>('PUT', '/api/v1/namespaces/proto/pods/st', { ...s.body, status: { phase: 'Failed' } });
    assert.equal((main.body.status as Record<string, unknown>).phase, 'Running');
    const patched = await api.request<Obj>('PATCH', '/api/v1/namespaces/proto/pods/st/status', { status: { hostIP: '192.168.0.1' } }, 'application/merge-patch+json');
    assert.equal((patched.body.status as Record<string, unknown>).hostIP, '192.168.0.1');
    assert.equal((patched.body.status as Record<string, unknown>).podIP, '10.244.0.9');
    assertStatus((await api.request('GET', '/apis/networking.k8s.io/v1/namespaces/proto/networkpolicies/x/status')).body, 404, 'NotFound');
  });

  it('patches labels and annotations with merge, strategic and JSON patches', async () => {
    await api.request('POST', '/api/v1/namespaces/proto/services', { ...svc('pt', { keep: '1', drop: '1' }), metadata: { name: 'pt', labels: { keep: '1', drop: '1' }, annotations: { a: '1' } } });
    const merge = await api.request<Obj>('PATCH', '/api/v1/namespaces/proto/services/pt', { metadata: { labels: { drop: null, added: 'yes' }, annotations: { b: '2' } } }, 'application/merge-patch+json');
    assert.deepEqual(merge.body.metadata.labels, { keep: '1', added: 'yes' });
    assert.deepEqual(merge.body.metadata.annotations, { a: '1', b: '2' });
    const smp = await api.request<Obj>(
      'PATCH',
      '/api/v1/namespaces/proto/services/pt',
      { metadata: { labels: { s: 'p' }, annotations: { a: null } }, spec: { ports: [{ port: 81, name: 'b' }, { port: 80, name: 'a' }] } },
      'application/strategic-merge-patch+json',
    );
    assert.deepEqual(smp.body.metadata.labels, { keep: '1', added: 'yes', s: 'p' });
    assert.deepEqual(smp.body.metadata.annotations, { b: '2' });
    // Service ports merge on `port`: 80 kept (and named), 81 added.
    const ports = (smp.body.spec as { ports: { port: number; name?: string; targetPort: number }[] }).ports;
    assert.deepEqual(ports.map((p) => [p.port, p.name, p.targetPort]), [[80, 'a', 80], [81, 'b', 81]]);
    const del = await api.request<Obj>('PATCH', '/api/v1/namespaces/proto/services/pt', { spec: { ports: [{ $patch: 'delete', port: 81 }] } }, 'application/strategic-merge-patch+json');
    assert.deepEqual((del.body.spec as { ports: unknown[] }).ports.length, 1);
    const jp = await api.request<Obj>('PATCH', '/api/v1/namespaces/proto/services/pt', [{ op: 'add', path: '/metadata/labels/j', value: 'p' }, { op: 'test', path: '/metadata/labels/keep', value: '1' }], 'application/json-patch+json');
    assert.equal((jp.body.metadata.labels as Record<string, string>).j, 'p');
    const failed = await api.request('PATCH', '/api/v1/namespaces/proto/services/pt', [{ op: 'test', path: '/metadata/labels/keep', value: 'x' }], 'application/json-patch+json');
    assert.equal(failed.code, 422);
    const stale = await api.request('PATCH', '/api/v1/namespaces/proto/services/pt', { metadata: { resourceVersion: '1', labels: { z: 'z' } } }, 'application/merge-patch+json');
    assertStatus(stale.body, 409, 'Conflict');
    assertStatus((await api.request('PATCH', '/api/v1/namespaces/proto/services/none', {}, 'application/merge-patch+json')).body, 404, 'NotFound');
  });

  it('deletes a pod bound to a node gracefully, and at once with gracePeriodSeconds=0', async () => {
    await api.request('POST', '/api/v1/namespaces/proto/pods', { metadata: { name: 'gr' }, spec: { nodeName: 'n1', terminationGracePeriodSeconds: 20, containers: [{ name: 'c', image: 'i' }] } });
    const w = await api.watch('/api/v1/namespaces/proto/pods?watch=true&fieldSelector=metadata.name%3Dgr');
    try {
      assert.equal((await w.next()).type, 'ADDED');
      const d = await api.request<Obj>('DELETE', '/api/v1/namespaces/proto/pods/gr');
      assert.equal(d.code, 200);
      assert.equal(d.body.kind, 'Pod');
      assert.ok(d.body.metadata.deletionTimestamp);
      assert.equal(d.body.metadata.deletionGracePeriodSeconds, 20);
      const mod = await w.next();
      assert.equal(mod.type, 'MODIFIED');
      assert.ok(mod.object.metadata?.deletionTimestamp);
      assert.equal((await api.request('GET', '/api/v1/namespaces/proto/pods/gr')).code, 200);
      const now = await api.request('DELETE', '/api/v1/namespaces/proto/pods/gr', { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
      assert.equal(now.code, 200);
      assert.equal((await w.next()).type, 'DELETED');
      assert.equal((await api.request('GET', '/api/v1/namespaces/proto/pods/gr')).code, 404);
    } finally {
      w.close();
    }
    // Unbound pods go at once; other kinds answer a Status Success.
    await api.request('POST', '/api/v1/namespaces/proto/pods', { metadata: { name: 'unbound' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    await api.request('DELETE', '/api/v1/namespaces/proto/pods/unbound');
    assert.equal((await api.request('GET', '/api/v1/namespaces/proto/pods/unbound')).code, 404);
    await api.request('POST', '/api/v1/namespaces/proto/services', svc('del'));
    const st = await api.request<Status>('DELETE', '/api/v1/namespaces/proto/services/del');
    assert.equal(st.body.kind, 'Status');
    assert.equal(st.body.status, 'Success');
    const pre = await api.request('DELETE', '/api/v1/namespaces/proto/services/errs', { preconditions: { uid: 'wrong' } });
    assertStatus(pre.body, 409, 'Conflict');
  });

  it('binds pods with pods/binding and evicts them with pods/eviction', async () => {
    await api.request('POST', '/api/v1/namespaces/proto/pods', { metadata: { name: 'bind' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind' }, target: { kind: 'Node', name: 'n7' } };
    const b = await api.request<Status>('POST', '/api/v1/namespaces/proto/pods/bind/binding', binding);
    assert.equal(b.code, 201);
    assert.equal(b.body.status, 'Success');
    assert.equal(((await api.request<Obj>('GET', '/api/v1/namespaces/proto/pods/bind')).body.spec as Record<string, unknown>).nodeName, 'n7');
    assert.match(assertStatus((await api.request('POST', '/api/v1/namespaces/proto/pods/bind/binding', binding)).body, 409, 'Conflict').message, /already assigned to node "n7"/);
    const ev = await api.request<Status>('POST', '/api/v1/namespaces/proto/pods/bind/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'bind' } });
    assert.equal(ev.code, 201);
    assert.ok((await api.request<Obj>('GET', '/api/v1/namespaces/proto/pods/bind')).body.metadata.deletionTimestamp);
    const now = await api.request('POST', '/api/v1/namespaces/proto/pods/bind/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'bind' }, deleteOptions: { gracePeriodSeconds: 0 } });
    assert.equal(now.code, 201);
    assert.equal((await api.request('GET', '/api/v1/namespaces/proto/pods/bind')).code, 404);
    assertStatus((await api.request('GET', '/api/v1/namespaces/proto/pods/bind/eviction')).body, 405, 'MethodNotAllowed');
  });

  it('defaults NetworkPolicy policyTypes and serves cluster-scoped kinds', async () => {
    const np = await api.request<Obj>('POST', '/apis/networking.k8s.io/v1/namespaces/proto/networkpolicies', {
      metadata: { name: 'np' },
      spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] },
    });
    assert.equal(np.code, 201);
    assert.deepEqual((np.body.spec as Record<string, unknown>).policyTypes, ['Ingress', 'Egress']);
    assert.equal(((np.body.spec as { egress: { ports: { protocol: string }[] }[] }).egress[0].ports[0]).protocol, 'TCP');
    const node = await api.request<Obj>('POST', '/api/v1/nodes', { metadata: { name: 'n-1' }, spec: { podCIDR: '10.244.3.0/24' } });
    assert.equal(node.code, 201);
    assert.equal(node.body.metadata.namespace, undefined);
    assert.deepEqual((node.body.spec as Record<string, unknown>).podCIDRs, ['10.244.3.0/24']);
    const gen = await api.request<Obj>('POST', '/apis/discovery.k8s.io/v1/namespaces/proto/endpointslices', {
      metadata: { generateName: 'web-', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.2'], conditions: { ready: true } }],
      ports: [{ port: 80 }],
    });
    assert.equal(gen.code, 201);
    assert.match(gen.body.metadata.name, /^web-[a-z0-9]{5}$/);
    const ns = await api.request<Obj>('GET', '/api/v1/namespaces/proto');
    assert.equal((ns.body.metadata.labels as Record<string, string>)['kubernetes.io/metadata.name'], 'proto');
    assert.equal((ns.body.status as Record<string, unknown>).phase, 'Active');
  });

  it('deletes the objects of a deleted namespace', async () => {
    await api.request('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await api.request('POST', '/api/v1/namespaces/doomed/services', svc('s'));
    await api.request('POST', '/api/v1/namespaces/doomed/pods', { metadata: { name: 'p' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] } });
    const d = await api.request<Obj>('DELETE', '/api/v1/namespaces/doomed');
    assert.equal(d.code, 200);
    assert.equal(d.body.kind, 'Namespace');
    assert.equal((await api.request('GET', '/api/v1/namespaces/doomed/services/s')).code, 404);
    assert.equal((await api.request('GET', '/api/v1/namespaces/doomed/pods/p')).code, 404);
    assert.equal((await api.request('GET', '/api/v1/namespaces/doomed')).code, 404);
  });

  it('renders a meta.k8s.io Table for kubectl get', async () => {
    const t = await api.request<{ kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: { kind: string } }[] }>(
      'GET',
      '/api/v1/namespaces/proto/services?limit=500',
      undefined,
      'application/json',
      { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' },
    );
    assert.equal(t.body.kind, 'Table');
    assert.deepEqual(t.body.columnDefinitions.slice(0, 5).map((c) => c.name), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)']);
    assert.equal(t.body.rows[0].object.kind, 'PartialObjectMetadata');
    // client-go's metadata client.
    const meta = await api.request<{ kind: string; items: { kind: string; metadata: { name: string }; spec?: unknown }[] }>(
      'GET',
      '/api/v1/namespaces/proto/services',
      undefined,
      'application/json',
      { accept: 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' },
    );
    assert.equal(meta.body.kind, 'PartialObjectMetadataList');
    assert.equal(meta.body.items[0].kind, 'PartialObjectMetadata');
    assert.equal(meta.body.items[0].spec, undefined);
  });

  it('ends watches at timeoutSeconds; serves dryRun, deletecollection, create-on-update', async () => {
    const t0 = Date.now();
    const w = await api.watch('/api/v1/namespaces/proto/services?watch=true&timeoutSeconds=1');
    await w.waitEnd(4000);
    assert.ok(Date.now() - t0 >= 900);
    const dry = await api.request<Obj>('POST', '/api/v1/namespaces/proto/services?dryRun=All', svc('dry'));
    assert.equal(dry.code, 201);
    assert.equal((await api.request('GET', '/api/v1/namespaces/proto/services/dry')).code, 404);
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l1', namespace: 'proto' }, spec: { holderIdentity: 'me' } };
    assert.equal((await api.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/proto/leases/l1', lease)).code, 201);
    assert.equal((await api.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/proto/leases/l1', lease)).code, 200);
    assertStatus((await api.request('PUT', '/api/v1/namespaces/proto/services/absent', svc('absent'))).body, 404, 'NotFound');
    assertStatus((await api.request('PUT', '/api/v1/namespaces/proto/services/other', svc('absent'))).body, 400, 'BadRequest');
    for (const n of ['dc-1', 'dc-2']) await api.request('POST', '/api/v1/namespaces/proto/services', svc(n, { dc: 'yes' }));
    const dc = await api.request<Status>('DELETE', '/api/v1/namespaces/proto/services?labelSelector=dc%3Dyes');
    assert.equal(dc.body.status, 'Success');
    assert.equal((await api.request<List>('GET', '/api/v1/namespaces/proto/services?labelSelector=dc')).body.items.length, 0);
    // The deprecated /watch/ path prefix still works.
    const legacy = await api.watch('/api/v1/watch/namespaces/proto/services?fieldSelector=metadata.name%3Derrs');
    assert.equal((await legacy.next()).type, 'ADDED');
    legacy.close();
  });

  it('dropWatches() ends streams; stop()/start() keeps store, port and token', async () => {
    const w = await api.watch('/api/v1/namespaces?watch=true');
    srv.dropWatches();
    await w.waitEnd();
    const port = srv.port;
    const rvBefore = srv.store.resourceVersion();
    const w2 = await api.watch(`/api/v1/namespaces?watch=true&resourceVersion=${rvBefore}`);
    await srv.stop();
    await w2.waitEnd();
    await assert.rejects(new LabApiClient(srv).request('GET', '/api/v1/namespaces'));
    srv.store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'while-down' } });
    await srv.start();
    assert.equal(srv.port, port);
    const fresh = new LabApiClient(srv);
    try {
      const ns = await fresh.request<Obj>('GET', '/api/v1/namespaces/while-down');
      assert.equal(ns.code, 200);
      // A watch resumed from before the outage gets what happened meanwhile.
      const w3 = await fresh.watch(`/api/v1/namespaces?watch=true&resourceVersion=${rvBefore}`);
      const ev = await w3.next();
      assert.equal(ev.type, 'ADDED');
      assert.equal(ev.object.metadata?.name, 'while-down');
      w3.close();
    } finally {
      fresh.close();
    }
  });
});
