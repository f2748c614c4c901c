// Prints the raw IPVS dump payloads (hex) the kernel sends for a small fixed
// state, in a throwaway netns, to keep as golden vectors in
// test/unit/ipvs-codec.test.ts:
//
//   kube-router-lab exec node1 -- node dist/test/lab-kernel/ipvs-capture.js

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cmd } from '../../src/kernel/ipvs/attrs.js';
import { GenlChannel } from '../../src/kernel/netlink/channel.js';
import { encodeBare, encodeServiceIdentity } from '../../src/kernel/ipvs/codec.js';
import { LinuxIpvs } from '../../src/kernel/ipvs/linux.js';
import { SvcFlag } from '../../src/kernel/ipvs/attrs.js';
import { ipvsDestination, ipvsService } from '../../src/kernel/ipvs/types.js';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] !== '--in-netns') {
  spawnSync('modprobe', ['ip_vs']);
  const ns = `kr-ipvs-cap-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, '--in-netns'], { stdio: 'inherit' });
  spawnSync('ip', ['netns', 'del', ns]);
  process.exitCode = r.status ?? 1;
} else {
  const ipvs = new LinuxIpvs();
  const dns = ipvsService({ protocol: 'UDP', address: '10.96.0.10', port: 53 });
  const v6 = ipvsService({ protocol: 'TCP', address: 'fd00:96::a', port: 443, scheduler: 'sh', flags: SvcFlag.PERSISTENT | SvcFlag.SCHED1, timeout: 10800, netmask: 64 });
  const fwm = ipvsService({ fwmark: 7, scheduler: 'wlc', netmask: 24 });
  for (const s of [dns, v6, fwm]) await ipvs.addService(s);
  await ipvs.addDestination(dns, ipvsDestination({ address: '10.244.1.5', port: 53, weight: 2, upperThreshold: 100, lowerThreshold: 10 }));
  await ipvs.addDestination(fwm, ipvsDestination({ address: '10.244.2.6', port: 0, fwdMethod: 'tunnel' }));
  const family = await new GenlChannel().resolveFamily('IPVS');
  const ch = new GenlChannel();
  for (const p of await ch.request(family!, encodeBare(Cmd.GET_SERVICE), true)) console.log(`service ${p.toString('hex')}`);
  for (const s of [dns, fwm]) {
    for (const p of await ch.request(family!, encodeServiceIdentity(Cmd.GET_DEST, s), true)) console.log(`dest ${p.toString('hex')}`);
  }
  for (const p of await ch.request(family!, encodeBare(Cmd.GET_INFO), false)) console.log(`info ${p.toString('hex')}`);
  for (const p of await ch.request(family!, encodeBare(Cmd.GET_CONFIG), false)) console.log(`config ${p.toString('hex')}`);
  await ipvs.flush();
  ipvs.close();
  ch.close();
}
