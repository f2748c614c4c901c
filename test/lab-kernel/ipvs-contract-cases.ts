// The IPVS contract: what every `Ipvs` implementation must do, as the kernel
// does it. Plain async functions using node:assert, so the same cases run
// under node:test against the fake (test/unit/ipvs-fake.test.ts) and as a
// standalone script against the real kernel in the lab (ipvs-contract.ts).
// Every case starts from an empty table.

import assert from 'node:assert/strict';
import { SvcFlag, TunType } from '../../src/kernel/ipvs/attrs.js';
import { Errno, IpvsError } from '../../src/kernel/ipvs/errors.js';
import {
  destinationConfig,
  ipvsDestination,
  ipvsService,
  serviceConfig,
  type Ipvs,
  type IpvsOp,
} from '../../src/kernel/ipvs/types.js';

export interface ContractCase {
  name: string;
  run(ipvs: Ipvs): Promise<void>;
}

const dns = ipvsService({ protocol: 'UDP', address: '10.96.0.10', port: 53 });
const web = ipvsService({ protocol: 'TCP', address: '10.96.0.20', port: 80, scheduler: 'lc' });
const v6 = ipvsService({ protocol: 'TCP', address: 'fd00:96::20', port: 443 });
const fwm4 = ipvsService({ fwmark: 7 });
const fwm6 = ipvsService({ fwmark: 7, af: 10 });
const ep1 = ipvsDestination({ address: '10.244.1.5', port: 53 });
const ep2 = ipvsDestination({ address: '10.244.2.6', port: 53, weight: 3 });
const ep10 = ipvsDestination({ address: '10.244.1.10', port: 53 });

async function rejectsErrno(p: Promise<unknown>, errno: number, call?: string): Promise<IpvsError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof IpvsError, `expected an IpvsError, got ${String(e)}`);
    assert.equal(e.errno, errno, `errno of "${e.message}"`);
    assert.equal(e.code, 'KR_ERR_KERNEL');
    if (call) assert.equal(e.context.call, call);
    return e;
  }
  assert.fail(`expected errno ${errno}, got success`);
}

export const ipvsContractCases: ContractCase[] = [
  {
    name: 'an empty table lists nothing',
    async run(ipvs) {
      assert.deepEqual(await ipvs.listServices(), []);
      assert.deepEqual(await ipvs.listAll(), []);
    },
  },
  {
    name: 'a service reads back as written, with zero stats',
    async run(ipvs) {
      await ipvs.addService(web);
      const [got, ...rest] = await ipvs.listServices();
      assert.equal(rest.length, 0);
      assert.deepEqual(serviceConfig(got), web);
      assert.equal(got.stats.conns, 0);
      assert.equal(got.stats.inBytes, 0);
    },
  },
  {
    name: 'a duplicate service add fails with EEXIST naming the service',
    async run(ipvs) {
      await ipvs.addService(dns);
      const e = await rejectsErrno(ipvs.addService(dns), Errno.EEXIST, 'IPVS_CMD_NEW_SERVICE');
      assert.equal(e.context.service, 'UDP 10.96.0.10:53');
      assert.match(e.message, /IPVS_CMD_NEW_SERVICE UDP 10\.96\.0\.10:53: EEXIST/);
    },
  },
  {
    name: 'update and delete of a missing service fail with ESRCH',
    async run(ipvs) {
      await rejectsErrno(ipvs.updateService(dns), Errno.ESRCH, 'IPVS_CMD_SET_SERVICE');
      await rejectsErrno(ipvs.deleteService(dns), Errno.ESRCH, 'IPVS_CMD_DEL_SERVICE');
    },
  },
  {
    name: 'an unknown scheduler fails with ENOENT',
    async run(ipvs) {
      await rejectsErrno(ipvs.addService({ ...web, scheduler: 'nope' }), Errno.ENOENT);
      assert.deepEqual(await ipvs.listServices(), []);
    },
  },
  {
    name: 'update changes scheduler, flags and persistence',
    async run(ipvs) {
      await ipvs.addService(web);
      const changed = { ...web, scheduler: 'sh', flags: SvcFlag.PERSISTENT | SvcFlag.SCHED1 | SvcFlag.SCHED2, timeout: 10800, netmask: 24 };
      await ipvs.updateService(changed);
      assert.deepEqual((await ipvs.listServices()).map(serviceConfig), [changed]);
      await ipvs.updateService(web);
      assert.deepEqual((await ipvs.listServices()).map(serviceConfig), [web]);
    },
  },
  {
    name: 'services list sorted, whatever the insertion order',
    async run(ipvs) {
      const a = ipvsService({ protocol: 'TCP', address: '10.96.0.2', port: 80 });
      const b = ipvsService({ protocol: 'TCP', address: '10.96.0.10', port: 80 });
      const c = ipvsService({ protocol: 'UDP', address: '10.96.0.10', port: 53 });
      const d = ipvsService({ protocol: 'TCP', address: '10.96.0.10', port: 443 });
      for (const s of [fwm4, c, v6, d, b, a]) await ipvs.addService(s);
      assert.deepEqual((await ipvs.listServices()).map(serviceConfig), [a, b, d, c, v6, fwm4]);
    },
  },
  {
    name: 'fwmark services, IPv4 and IPv6, are distinct and read back',
    async run(ipvs) {
      await ipvs.addService(fwm4);
      await ipvs.addService(fwm6);
      await rejectsErrno(ipvs.addService(fwm4), Errno.EEXIST);
      assert.deepEqual((await ipvs.listServices()).map(serviceConfig), [fwm4, fwm6]);
      await ipvs.deleteService(fwm4);
      assert.deepEqual((await ipvs.listServices()).map(serviceConfig), [fwm6]);
    },
  },
  {
    name: 'destinations: add, sorted list, update, delete',
    async run(ipvs) {
      await ipvs.addService(dns);
      for (const d of [ep2, ep10, ep1]) await ipvs.addDestination(dns, d);
      let got = await ipvs.listDestinations(dns);
      assert.deepEqual(got.map(destinationConfig), [ep1, ep10, ep2]);
      assert.equal(got[0].activeConns, 0);
      assert.equal(got[0].inactConns, 0);
      const drained = { ...ep2, weight: 0 };
      await ipvs.updateDestination(dns, drained);
      await ipvs.deleteDestination(dns, ep10);
      got = await ipvs.listDestinations(dns);
      assert.deepEqual(got.map(destinationConfig), [ep1, drained]);
    },
  },
  {
    name: 'destination errors: EEXIST, ENOENT, ESRCH for a missing service',
    async run(ipvs) {
      await ipvs.addService(dns);
      await ipvs.addDestination(dns, ep1);
      const e = await rejectsErrno(ipvs.addDestination(dns, ep1), Errno.EEXIST, 'IPVS_CMD_NEW_DEST');
      assert.equal(e.context.destination, '-> 10.244.1.5:53');
      await rejectsErrno(ipvs.updateDestination(dns, ep2), Errno.ENOENT, 'IPVS_CMD_SET_DEST');
      await rejectsErrno(ipvs.deleteDestination(dns, ep2), Errno.ENOENT, 'IPVS_CMD_DEL_DEST');
      await rejectsErrno(ipvs.addDestination(web, ep1), Errno.ESRCH, 'IPVS_CMD_NEW_DEST');
      await rejectsErrno(ipvs.deleteDestination(web, ep1), Errno.ESRCH);
    },
  },
  {
    name: 'destinations of a missing service list empty, as the kernel dumps them',
    async run(ipvs) {
      assert.deepEqual(await ipvs.listDestinations(web), []);
    },
  },
  {
    name: 'a lower threshold above the upper one fails with ERANGE',
    async run(ipvs) {
      await ipvs.addService(dns);
      await rejectsErrno(ipvs.addDestination(dns, { ...ep1, upperThreshold: 10, lowerThreshold: 20 }), Errno.ERANGE);
      const ok = { ...ep1, upperThreshold: 20, lowerThreshold: 10 };
      await ipvs.addDestination(dns, ok);
      assert.deepEqual((await ipvs.listDestinations(dns)).map(destinationConfig), [ok]);
    },
  },
  {
    name: 'IPv6 service with IPv6 destinations; an IPv4 masq destination is EINVAL',
    async run(ipvs) {
      await ipvs.addService(v6);
      const d6 = ipvsDestination({ address: 'fd00:244:1::5', port: 8443 });
      await ipvs.addDestination(v6, d6);
      assert.deepEqual((await ipvs.listDestinations(v6)).map(destinationConfig), [d6]);
      await rejectsErrno(ipvs.addDestination(v6, ep1), Errno.EINVAL);
    },
  },
  {
    name: 'tunnel (DSR) destinations keep their forwarding method',
    async run(ipvs) {
      await ipvs.addService(fwm4);
      const t = ipvsDestination({ address: '10.244.1.5', port: 0, fwdMethod: 'tunnel', tunType: TunType.ipip });
      const r = ipvsDestination({ address: '10.244.1.6', port: 0, fwdMethod: 'route' });
      await ipvs.addDestination(fwm4, t);
      await ipvs.addDestination(fwm4, r);
      assert.deepEqual((await ipvs.listDestinations(fwm4)).map(destinationConfig), [t, r]);
    },
  },
  {
    name: 'deleting a service removes its destinations',
    async run(ipvs) {
      await ipvs.addService(dns);
      await ipvs.addDestination(dns, ep1);
      await ipvs.deleteService(dns);
      await ipvs.addService(dns);
      assert.deepEqual(await ipvs.listDestinations(dns), []);
    },
  },
  {
    name: 'a batch applies every operation and reports failures by index',
    async run(ipvs) {
      const ops: IpvsOp[] = [
        { op: 'addService', service: dns },
        { op: 'addDestination', service: dns, destination: ep1 },
        { op: 'addDestination', service: dns, destination: ep1 },
        { op: 'addService', service: web },
        { op: 'deleteDestination', service: web, destination: ep2 },
        { op: 'addDestination', service: dns, destination: ep2 },
      ];
      for (let i = 0; i < 50; i++) {
        ops.push({ op: 'addDestination', service: web, destination: ipvsDestination({ address: `10.244.3.${i + 1}`, port: 80 }) });
      }
      const r = await ipvs.apply(ops);
      assert.deepEqual(
        r.errors.map((e) => [e.index, (e.error as IpvsError).errno]),
        [
          [2, Errno.EEXIST],
          [4, Errno.ENOENT],
        ],
      );
      assert.equal(r.applied, ops.length - 2);
      const all = await ipvs.listAll();
      assert.deepEqual(
        all.map((x) => [serviceConfig(x.service), x.destinations.length]),
        [
          [dns, 2],
          [web, 50],
        ],
      );
      assert.deepEqual(await ipvs.apply([]), { applied: 0, errors: [] });
    },
  },
  {
    name: 'listAll returns every service with its destinations',
    async run(ipvs) {
      await ipvs.addService(dns);
      await ipvs.addService(v6);
      await ipvs.addService(web);
      await ipvs.addDestination(dns, ep2);
      await ipvs.addDestination(dns, ep1);
      await ipvs.addDestination(web, ipvsDestination({ address: '10.244.9.9', port: 8080 }));
      const all = await ipvs.listAll();
      assert.deepEqual(
        all.map((x) => [serviceConfig(x.service), x.destinations.map(destinationConfig)]),
        [
          [dns, [ep1, ep2]],
          [web, [ipvsDestination({ address: '10.244.9.9', port: 8080 })]],
          [v6, []],
        ],
      );
    },
  },
  {
    name: 'getService finds one service by identity (address and fwmark), undefined when absent',
    async run(ipvs) {
      assert.equal(await ipvs.getService(web), undefined);
      await ipvs.addService(web);
      await ipvs.addService(dns);
      await ipvs.addService(fwm6);
      const got = await ipvs.getService(ipvsService({ protocol: 'TCP', address: '10.96.0.20', port: 80 }));
      assert.ok(got);
      assert.deepEqual(serviceConfig(got), web);
      assert.equal(got.stats.conns, 0);
      assert.deepEqual(serviceConfig((await ipvs.getService(fwm6)) ?? dns), fwm6);
      assert.equal(await ipvs.getService(fwm4), undefined);
      assert.equal(await ipvs.getService(ipvsService({ protocol: 'UDP', address: '10.96.0.20', port: 80 })), undefined);
    },
  },
  {
    name: 'timeouts: set some, keep the others',
    async run(ipvs) {
      const before = await ipvs.getTimeouts();
      assert.ok(before.tcp > 0 && before.tcpFin > 0 && before.udp > 0);
      await ipvs.setTimeouts({ tcp: 901, udp: 301 });
      assert.deepEqual(await ipvs.getTimeouts(), { tcp: 901, tcpFin: before.tcpFin, udp: 301 });
      await ipvs.setTimeouts(before);
      assert.deepEqual(await ipvs.getTimeouts(), before);
    },
  },
  {
    name: 'getInfo reports version 1.2.1',
    async run(ipvs) {
      const info = await ipvs.getInfo();
      assert.equal(info.version, '1.2.1');
      assert.ok(info.connTabSize > 0);
    },
  },
  {
    name: 'flush removes every service',
    async run(ipvs) {
      await ipvs.addService(dns);
      await ipvs.addService(fwm4);
      await ipvs.flush();
      assert.deepEqual(await ipvs.listServices(), []);
    },
  },
];
