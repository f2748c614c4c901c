// Golden tests of the IPVS genl codec. Expected bytes are written by hand
// from /usr/include/linux/ip_vs.h and the kernel's nla_put layout (4-byte
// header: u16 length, u16 type; payload; zero padding to 4), independent of
// the netlink package. Little-endian host (x86-64), as in the lab.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessages, formatMessage, FlagsGet } from 'netlink';
import { Cmd, SvcFlag, TunType } from '../../src/kernel/ipvs/attrs.js';
import {
  decodeConfig,
  decodeDestMessage,
  decodeInfo,
  decodeServiceMessage,
  decodeStats,
  encodeBare,
  encodeDestCmd,
  encodeServiceCmd,
  encodeServiceIdentity,
  encodeSetConfig,
} from '../../src/kernel/ipvs/codec.js';
import { destinationConfig, ipvsDestination, ipvsService, serviceConfig } from '../../src/kernel/ipvs/types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');

/** Hand-built attribute: header, payload, zero padding. */
function nla(type: number, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(4 + data.length, 0);
  h.writeUInt16LE(type, 2);
  const pad = (4 - (data.length % 4)) % 4;
  return Buffer.concat([h, data, Buffer.alloc(pad)]);
}
const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const be16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const u64 = (n: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(n); return b; };
const str = (s: string): Buffer => Buffer.from(`${s}\0`);
const genl = (cmd: number): Buffer => Buffer.from([cmd, 1, 0, 0]);
const cat = (...b: Buffer[]): Buffer => Buffer.concat(b);

const dns = ipvsService({ protocol: 'UDP', address: '10.96.0.10', port: 53 });
const ep = ipvsDestination({ address: '10.244.1.5', port: 53, weight: 2 });

describe('IPVS codec: encoding (golden bytes)', () => {
  test('NEW_SERVICE UDP 10.96.0.10:53 rr, written out byte by byte', () => {
    const expected = hex(`
      01 01 00 00
      54 00 01 00
        06 00 01 00  02 00 00 00
        06 00 02 00  11 00 00 00
        14 00 03 00  0a 60 00 0a 00 00 00 00 00 00 00 00 00 00 00 00
        06 00 04 00  00 35 00 00
        07 00 06 00  72 72 00 00
        0c 00 07 00  00 00 00 00 ff ff ff ff
        08 00 08 00  00 00 00 00
        08 00 09 00  ff ff ff ff`);
    assert.deepEqual(encodeServiceCmd(Cmd.NEW_SERVICE, dns), expected);
  });

  test('SET_SERVICE with persistence, sh flags, /24 netmask and a PE name', () => {
    const s = { ...dns, scheduler: 'sh', flags: SvcFlag.PERSISTENT | SvcFlag.SCHED1 | SvcFlag.SCHED2, timeout: 10800, netmask: 24, peName: 'sip' };
    const expected = cat(
      genl(Cmd.SET_SERVICE),
      nla(1, cat(
        nla(1, u16(2)), nla(2, u16(17)), nla(3, hex('0a60000a 00000000 00000000 00000000')), nla(4, be16(53)),
        nla(6, str('sh')), nla(11, str('sip')), nla(7, cat(u32(0x19), u32(0xffffffff))), nla(8, u32(10800)), nla(9, hex('ffffff00')),
      )),
    );
    assert.deepEqual(encodeServiceCmd(Cmd.SET_SERVICE, s), expected);
  });

  test('HASHED is never sent even if present in flags', () => {
    const a = encodeServiceCmd(Cmd.NEW_SERVICE, { ...dns, flags: SvcFlag.HASHED | SvcFlag.PERSISTENT });
    const b = encodeServiceCmd(Cmd.NEW_SERVICE, { ...dns, flags: SvcFlag.PERSISTENT });
    assert.deepEqual(a, b);
  });

  test('IPv6 service: 16-byte address, netmask as a host-order prefix length', () => {
    const s = ipvsService({ protocol: 'TCP', address: 'fd00:96::a', port: 443 });
    const expected = cat(
      genl(Cmd.NEW_SERVICE),
      nla(1, cat(
        nla(1, u16(10)), nla(2, u16(6)), nla(3, hex('fd000096 00000000 00000000 0000000a')), nla(4, be16(443)),
        nla(6, str('rr')), nla(7, cat(u32(0), u32(0xffffffff))), nla(8, u32(0)), nla(9, u32(128)),
      )),
    );
    assert.deepEqual(encodeServiceCmd(Cmd.NEW_SERVICE, s), expected);
  });

  test('fwmark service: FWMARK instead of protocol/address/port', () => {
    const s = ipvsService({ fwmark: 0x2000, scheduler: 'mh' });
    const expected = cat(
      genl(Cmd.NEW_SERVICE),
      nla(1, cat(nla(1, u16(2)), nla(5, u32(0x2000)), nla(6, str('mh')), nla(7, cat(u32(0), u32(0xffffffff))), nla(8, u32(0)), nla(9, hex('ffffffff')))),
    );
    assert.deepEqual(encodeServiceCmd(Cmd.NEW_SERVICE, s), expected);
    assert.deepEqual(encodeServiceIdentity(Cmd.DEL_SERVICE, s), cat(genl(Cmd.DEL_SERVICE), nla(1, cat(nla(1, u16(2)), nla(5, u32(0x2000))))));
  });

  test('DEL_SERVICE and GET_DEST carry only the identifying attributes', () => {
    const id = nla(1, cat(nla(1, u16(2)), nla(2, u16(17)), nla(3, hex('0a60000a 00000000 00000000 00000000')), nla(4, be16(53))));
    assert.deepEqual(encodeServiceIdentity(Cmd.DEL_SERVICE, dns), cat(genl(Cmd.DEL_SERVICE), id));
    assert.deepEqual(encodeServiceIdentity(Cmd.GET_DEST, dns), cat(genl(Cmd.GET_DEST), id));
  });

  test('NEW_DEST, SET_DEST (full) and DEL_DEST (identity) carry the service identity nest', () => {
    const svcId = nla(1, cat(nla(1, u16(2)), nla(2, u16(17)), nla(3, hex('0a60000a 00000000 00000000 00000000')), nla(4, be16(53))));
    const addr = nla(1, hex('0af40105 00000000 00000000 00000000'));
    const full = nla(2, cat(addr, nla(2, be16(53)), nla(3, u32(0)), nla(4, u32(2)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(2))));
    assert.deepEqual(encodeDestCmd(Cmd.NEW_DEST, dns, ep), cat(genl(Cmd.NEW_DEST), svcId, full));
    assert.deepEqual(encodeDestCmd(Cmd.SET_DEST, dns, ep), cat(genl(Cmd.SET_DEST), svcId, full));
    const id = nla(2, cat(addr, nla(2, be16(53)), nla(11, u16(2))));
    assert.deepEqual(encodeDestCmd(Cmd.DEL_DEST, dns, ep), cat(genl(Cmd.DEL_DEST), svcId, id));
  });

  test('NEW_DEST as a tunnel carries TUN_TYPE/PORT/FLAGS; thresholds in order', () => {
    const d = ipvsDestination({ address: '10.244.1.5', port: 0, fwdMethod: 'tunnel', tunType: TunType.gue, tunPort: 6080, tunFlags: 1, upperThreshold: 100, lowerThreshold: 10 });
    const s = ipvsService({ fwmark: 1 });
    const expected = cat(
      genl(Cmd.NEW_DEST),
      nla(1, cat(nla(1, u16(2)), nla(5, u32(1)))),
      nla(2, cat(
        nla(1, hex('0af40105 00000000 00000000 00000000')), nla(2, be16(0)), nla(3, u32(2)), nla(4, u32(1)),
        nla(13, u8(1)), nla(14, be16(6080)), nla(15, u16(1)), nla(5, u32(100)), nla(6, u32(10)), nla(11, u16(2)),
      )),
    );
    assert.deepEqual(encodeDestCmd(Cmd.NEW_DEST, s, d), expected);
  });

  test('IPv6 destination: 16-byte address and ADDR_FAMILY 10', () => {
    const s = ipvsService({ protocol: 'TCP', address: 'fd00::1', port: 80 });
    const d = ipvsDestination({ address: 'fd00:244::5', port: 8080, fwdMethod: 'route' });
    const bytes = encodeDestCmd(Cmd.DEL_DEST, s, d);
    const tail = cat(nla(2, cat(nla(1, hex('fd000244 00000000 00000000 00000005')), nla(2, be16(8080)), nla(11, u16(10)))));
    assert.deepEqual(bytes.subarray(bytes.length - tail.length), tail);
  });

  test('bare commands and SET_CONFIG', () => {
    assert.deepEqual(encodeBare(Cmd.GET_SERVICE), hex('04 01 00 00'));
    assert.deepEqual(encodeBare(Cmd.GET_INFO), hex('0f 01 00 00'));
    assert.deepEqual(encodeBare(Cmd.GET_CONFIG), hex('0d 01 00 00'));
    assert.deepEqual(encodeBare(Cmd.FLUSH), hex('11 01 00 00'));
    assert.deepEqual(encodeSetConfig({ tcp: 900, tcpFin: 120, udp: 300 }), cat(genl(12), nla(4, u32(900)), nla(5, u32(120)), nla(6, u32(300))));
    assert.deepEqual(encodeSetConfig({ udp: 5 }), cat(genl(12), nla(6, u32(5))));
  });

  test('the whole request frame, as sent (nlmsghdr + payload)', () => {
    const frame = Buffer.concat(formatMessage({ type: 0x1d, flags: 1 | FlagsGet.DUMP, seq: 7, port: 0, data: encodeBare(Cmd.GET_SERVICE) }));
    assert.deepEqual(frame, hex('14000000 1d00 0103 07000000 00000000 04010000'));
  });
});

// ---------------------------------------------------------------- decoding

/** A kernel-filled stats nest (ip_vs_genl_fill_stats: bytes u64, the rest u32). */
function stats32(v: number[]): Buffer {
  return cat(nla(1, u32(v[0])), nla(2, u32(v[1])), nla(3, u32(v[2])), nla(4, u64(BigInt(v[3]))), nla(5, u64(BigInt(v[4]))),
    nla(6, u32(v[5])), nla(7, u32(v[6])), nla(8, u32(v[7])), nla(9, u32(v[8])), nla(10, u32(v[9])));
}
/** ip_vs_genl_fill_stats64: all u64. */
function stats64(v: bigint[]): Buffer {
  return cat(...v.map((x, i) => nla(i + 1, u64(x))));
}

/** A NEW_SERVICE dump message as ip_vs_genl_fill_service writes it (6.1). */
function kernelService(f: { af: number; proto?: number; addr?: Buffer; port?: number; fwmark?: number; sched: string; pe?: string; flags: number; timeout: number; netmask: Buffer }, st: Buffer, st64: Buffer): Buffer {
  const id = f.fwmark ? [nla(5, u32(f.fwmark))] : [nla(2, u16(f.proto!)), nla(3, f.addr!), nla(4, be16(f.port!))];
  return cat(genl(Cmd.NEW_SERVICE), nla(1, cat(nla(1, u16(f.af)), ...id, nla(6, str(f.sched)), ...(f.pe ? [nla(11, str(f.pe))] : []),
    nla(7, cat(u32(f.flags), u32(0xffffffff))), nla(8, u32(f.timeout)), nla(9, f.netmask), nla(10, st), nla(12, st64))));
}

/** A NEW_DEST dump message as ip_vs_genl_fill_dest writes it (6.1). */
function kernelDest(addr: Buffer, port: number, fwd: number, weight: number, conns: [number, number, number], af: number, st: Buffer, st64: Buffer): Buffer {
  return cat(genl(Cmd.NEW_DEST), nla(2, cat(nla(1, addr), nla(2, be16(port)), nla(3, u32(fwd)), nla(4, u32(weight)),
    nla(13, u8(0)), nla(14, be16(0)), nla(15, u16(0)), nla(5, u32(0)), nla(6, u32(0)),
    nla(7, u32(conns[0])), nla(8, u32(conns[1])), nla(9, u32(conns[2])), nla(11, u16(af)), nla(10, st), nla(12, st64))));
}

/** Frames payloads into one receive buffer: NLM_F_MULTI messages then NLMSG_DONE. */
function dumpBuffer(family: number, payloads: Buffer[]): Buffer {
  const frames = payloads.map((p, i) => Buffer.concat(formatMessage({ type: family, flags: 2, seq: 9, port: 1234 + i * 0, data: p })));
  frames.push(Buffer.concat(formatMessage({ type: 3, flags: 2, seq: 9, port: 1234, data: u32(0) })));
  return Buffer.concat(frames);
}

describe('IPVS codec: decoding kernel messages', () => {
  test('a dump of three services (IPv4, IPv6, fwmark) in one receive buffer', () => {
    const buf = dumpBuffer(0x1d, [
      kernelService({ af: 2, proto: 17, addr: hex('0a60000a 00000000 00000000 00000000'), port: 53, sched: 'rr', flags: 0x2, timeout: 0, netmask: hex('ffffffff') },
        stats32([3, 30, 20, 2400, 1600, 1, 2, 3, 4, 5]), stats64([3n, 30n, 20n, 2400n, 1600n, 1n, 2n, 3n, 4n, 5n])),
      kernelService({ af: 10, proto: 6, addr: hex('fd000096 00000000 00000000 0000000a'), port: 443, sched: 'sh', pe: 'sip', flags: 0x1b, timeout: 10800, netmask: u32(64) },
        stats32([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), stats64([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n])),
      kernelService({ af: 2, fwmark: 7, sched: 'wlc', flags: 0x2, timeout: 0, netmask: hex('ffffff00') },
        stats32([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), stats64([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n])),
    ]);
    const msgs = parseMessages(buf);
    assert.equal(msgs.length, 4);
    assert.equal(msgs[3].type, 3);
    const svcs = msgs.slice(0, 3).map((m) => decodeServiceMessage(m.data));
    assert.deepEqual(svcs.map(serviceConfig), [
      dns,
      ipvsService({ protocol: 'TCP', address: 'fd00:96::a', port: 443, scheduler: 'sh', peName: 'sip', flags: 0x19, timeout: 10800, netmask: 64 }),
      ipvsService({ fwmark: 7, scheduler: 'wlc', netmask: 24 }),
    ]);
    assert.deepEqual(svcs[0].stats, { conns: 3, inPkts: 30, outPkts: 20, inBytes: 2400, outBytes: 1600, cps: 1, inPps: 2, outPps: 3, inBps: 4, outBps: 5 });
  });

  test('STATS64 wins over STATS (32-bit counters wrap, 64-bit do not)', () => {
    const p = kernelService({ af: 2, proto: 6, addr: hex('0a600001 00000000 00000000 00000000'), port: 443, sched: 'rr', flags: 2, timeout: 0, netmask: hex('ffffffff') },
      stats32([1, 0xffffffff, 2, 0, 0, 0, 0, 0, 0, 0]), stats64([1n, 0x1_0000_0005n, 2n, 6_000_000_000n, 7n, 0n, 0n, 0n, 0n, 0n]));
    const s = decodeServiceMessage(p);
    assert.equal(s.stats.inPkts, 0x1_0000_0005);
    assert.equal(s.stats.inBytes, 6_000_000_000);
  });

  test('STATS alone (older kernels) and PAD attributes are handled', () => {
    const st = cat(nla(1, u32(4)), nla(11, Buffer.alloc(0)), nla(4, u64(123n)), nla(2, u32(9)));
    assert.deepEqual(decodeStats(st), { conns: 4, inPkts: 9, outPkts: 0, inBytes: 123, outBytes: 0, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 });
    const p = cat(genl(Cmd.NEW_SERVICE), nla(1, cat(nla(1, u16(2)), nla(2, u16(6)), nla(3, hex('0a600001 00000000 00000000 00000000')), nla(4, be16(80)),
      nla(6, str('rr')), nla(7, cat(u32(2), u32(0xffffffff))), nla(8, u32(0)), nla(9, hex('ffffffff')), nla(10, st))));
    assert.equal(decodeServiceMessage(p).stats.conns, 4);
  });

  test('a dump of destinations: IPv4 masq, connection counters, stats', () => {
    const zero64 = stats64(new Array(10).fill(0n));
    const buf = dumpBuffer(0x1d, [
      kernelDest(hex('0af40105 00000000 00000000 00000000'), 53, 0, 2, [1, 4, 0], 2, stats32([5, 50, 40, 5000, 4000, 0, 0, 0, 0, 0]), stats64([5n, 50n, 40n, 5000n, 4000n, 0n, 0n, 0n, 0n, 0n])),
      kernelDest(hex('0af40206 00000000 00000000 00000000'), 53, 3, 0, [0, 0, 2], 2, stats32(new Array(10).fill(0)), zero64),
    ]);
    const [a, b] = parseMessages(buf).slice(0, 2).map((m) => decodeDestMessage(m.data, 2));
    assert.deepEqual(destinationConfig(a), ep);
    assert.deepEqual([a.activeConns, a.inactConns, a.persistConns], [1, 4, 0]);
    assert.deepEqual([a.stats.conns, a.stats.inBytes, a.stats.outBytes], [5, 5000, 4000]);
    assert.deepEqual(destinationConfig(b), ipvsDestination({ address: '10.244.2.6', port: 53, weight: 0, fwdMethod: 'route' }));
    assert.equal(b.persistConns, 2);
  });

  test('an IPv4 destination of an IPv6 service (tunnel) takes ADDR_FAMILY; without it the service family', () => {
    const st = stats32(new Array(10).fill(0));
    const p = kernelDest(hex('0af40105 00000000 00000000 00000000'), 0, 2, 1, [0, 0, 0], 2, st, stats64(new Array(10).fill(0n)));
    assert.equal(decodeDestMessage(p, 10).address, '10.244.1.5');
    const noAf = cat(genl(Cmd.NEW_DEST), nla(2, cat(nla(1, hex('fd000000 00000000 00000000 00000001')), nla(2, be16(80)))));
    assert.equal(decodeDestMessage(noAf, 10).address, 'fd00::1');
  });

  test('GET_INFO and GET_CONFIG replies', () => {
    assert.deepEqual(decodeInfo(cat(genl(Cmd.SET_INFO), nla(1, u32(0x010201)), nla(2, u32(4096)))), { version: '1.2.1', connTabSize: 4096 });
    assert.deepEqual(decodeConfig(cat(genl(Cmd.SET_CONFIG), nla(4, u32(900)), nla(5, u32(120)), nla(6, u32(300)))), { tcp: 900, tcpFin: 120, udp: 300 });
  });

  test('encode then decode round-trips every field', () => {
    const services = [
      dns,
      ipvsService({ protocol: 'SCTP', address: '10.96.0.7', port: 3868, scheduler: 'wrr', flags: SvcFlag.ONEPACKET }),
      ipvsService({ protocol: 'TCP', address: '2001:db8::1', port: 8443, flags: SvcFlag.PERSISTENT, timeout: 30, netmask: 96 }),
      ipvsService({ fwmark: 99, af: 10, scheduler: 'sh', flags: SvcFlag.SCHED1 }),
    ];
    for (const s of services) {
      // NEW_SERVICE requests and NEW_SERVICE dump replies share the nest layout.
      assert.deepEqual(serviceConfig(decodeServiceMessage(encodeServiceCmd(Cmd.NEW_SERVICE, s))), s);
    }
    const d = ipvsDestination({ address: '10.0.0.1', port: 1, fwdMethod: 'local', weight: 65535, upperThreshold: 9, lowerThreshold: 3 });
    const payload = encodeDestCmd(Cmd.NEW_DEST, dns, d);
    assert.deepEqual(destinationConfig(decodeDestMessage(payload, 2)), d);
  });

  test('malformed input fails with a decode error, not garbage', () => {
    assert.throws(() => decodeServiceMessage(cat(genl(1), nla(1, cat(nla(1, u16(2)))))), /IPVS decode: missing IPVS_SVC_ATTR_PROTOCOL/);
    assert.throws(() => decodeServiceMessage(cat(genl(1), nla(1, cat(nla(1, u16(7)))))), /address family 7/);
    assert.throws(() => decodeServiceMessage(cat(genl(1), hex('ff000100'))), /bad attribute stream/);
  });
});

// Payloads captured from Linux 6.1.0-56-amd64 in the lab (test/lab-kernel/ipvs-capture.ts):
// GET_SERVICE dump (v6 sh persistent, v4 UDP rr, fwmark wlc /24), GET_DEST dumps, GET_INFO, GET_CONFIG.
const CAPTURED = {
  service: [
    hex(
      '010100002c010100060001000a000000060002000600000014000300fd00009600000000000000000000000a06000400' +
      '01bb000007000600736800000c0007000b000000ffffffff08000800302a000008000900400000005c000a0008000100' +
      '00000000080002000000000008000300000000000c00040000000000000000000c000500000000000000000008000600' +
      '0000000008000700000000000800080000000000080009000000000008000a00000000007c000c000c00010000000000' +
      '000000000c00020000000000000000000c00030000000000000000000c00040000000000000000000c00050000000000' +
      '000000000c00060000000000000000000c00070000000000000000000c00080000000000000000000c00090000000000' +
      '000000000c000a000000000000000000',
    ),
    hex(
      '010100002c01010006000100020000000600020011000000140003000a60000a00000000000000000000000006000400' +
      '0035000007000600727200000c00070002000000ffffffff080008000000000008000900ffffffff5c000a0008000100' +
      '00000000080002000000000008000300000000000c00040000000000000000000c000500000000000000000008000600' +
      '0000000008000700000000000800080000000000080009000000000008000a00000000007c000c000c00010000000000' +
      '000000000c00020000000000000000000c00030000000000000000000c00040000000000000000000c00050000000000' +
      '000000000c00060000000000000000000c00070000000000000000000c00080000000000000000000c00090000000000' +
      '000000000c000a000000000000000000',
    ),
    hex(
      '01010000100101000600010002000000080005000700000008000600776c63000c00070002000000ffffffff08000800' +
      '0000000008000900ffffff005c000a000800010000000000080002000000000008000300000000000c00040000000000' +
      '000000000c00050000000000000000000800060000000000080007000000000008000800000000000800090000000000' +
      '08000a00000000007c000c000c00010000000000000000000c00020000000000000000000c0003000000000000000000' +
      '0c00040000000000000000000c00050000000000000000000c00060000000000000000000c0007000000000000000000' +
      '0c00080000000000000000000c00090000000000000000000c000a000000000000000000',
    ),
  ],
  dest: [
    hex(
      '0501000050010200140001000af401050000000000000000000000000600020000350000080003000000000008000400' +
      '0200000005000d000000000006000e000000000006000f00000000000800050064000000080006000a00000008000700' +
      '000000000800080000000000080009000000000006000b00020000005c000a0008000100000000000800020000000000' +
      '08000300000000000c00040000000000000000000c000500000000000000000008000600000000000800070000000000' +
      '0800080000000000080009000000000008000a00000000007c000c000c00010000000000000000000c00020000000000' +
      '000000000c00030000000000000000000c00040000000000000000000c00050000000000000000000c00060000000000' +
      '000000000c00070000000000000000000c00080000000000000000000c00090000000000000000000c000a0000000000' +
      '00000000',
    ),
    hex(
      '0501000050010200140001000af402060000000000000000000000000600020000000000080003000200000008000400' +
      '0100000005000d000000000006000e000000000006000f00000000000800050000000000080006000000000008000700' +
      '000000000800080000000000080009000000000006000b00020000005c000a0008000100000000000800020000000000' +
      '08000300000000000c00040000000000000000000c000500000000000000000008000600000000000800070000000000' +
      '0800080000000000080009000000000008000a00000000007c000c000c00010000000000000000000c00020000000000' +
      '000000000c00030000000000000000000c00040000000000000000000c00050000000000000000000c00060000000000' +
      '000000000c00070000000000000000000c00080000000000000000000c00090000000000000000000c000a0000000000' +
      '00000000',
    ),
  ],
  info: [
    hex(
      '0e01000008000100010201000800020000100000',
    ),
  ],
  config: [
    hex(
      '0c01000008000400840300000800050078000000080006002c010000',
    ),
  ],
};

/** The payload with the service nest's STATS/STATS64 removed and HASHED cleared: what a NEW_SERVICE request of the same service carries. */
function asRequest(p: Buffer): Buffer {
  const nest = p.subarray(8, p.readUInt16LE(4));
  const kept: Buffer[] = [];
  for (let o = 0; o < nest.length; ) {
    const len = nest.readUInt16LE(o);
    const type = nest.readUInt16LE(o + 2);
    const a = Buffer.from(nest.subarray(o, o + ((len + 3) & ~3)));
    if (type === 7) a.writeUInt32LE(a.readUInt32LE(4) & ~SvcFlag.HASHED, 4);
    if (type !== 10 && type !== 12) kept.push(a);
    o += (len + 3) & ~3;
  }
  const body = Buffer.concat(kept);
  const h = Buffer.alloc(4);
  h.writeUInt16LE(4 + body.length, 0);
  h.writeUInt16LE(1, 2);
  return Buffer.concat([p.subarray(0, 4), h, body]);
}

describe('IPVS codec: messages captured from Linux 6.1', () => {
  const v6 = ipvsService({ protocol: 'TCP', address: 'fd00:96::a', port: 443, scheduler: 'sh', flags: SvcFlag.PERSISTENT | SvcFlag.SCHED1, timeout: 10800, netmask: 64 });
  const fwm = ipvsService({ fwmark: 7, scheduler: 'wlc', netmask: 24 });

  test('GET_SERVICE dump messages decode to the services written', () => {
    const got = CAPTURED.service.map(decodeServiceMessage);
    assert.deepEqual(got.map(serviceConfig), [v6, dns, fwm]);
    for (const s of got) assert.deepEqual(Object.values(s.stats), new Array(10).fill(0));
  });

  test('our NEW_SERVICE request is byte for byte the kernel dump minus stats and HASHED', () => {
    assert.deepEqual(encodeServiceCmd(Cmd.NEW_SERVICE, v6), asRequest(CAPTURED.service[0]));
    assert.deepEqual(encodeServiceCmd(Cmd.NEW_SERVICE, dns), asRequest(CAPTURED.service[1]));
    assert.deepEqual(encodeServiceCmd(Cmd.NEW_SERVICE, fwm), asRequest(CAPTURED.service[2]));
  });

  test('GET_DEST dump messages decode (thresholds, tunnel, counters)', () => {
    const [a] = CAPTURED.dest.slice(0, 1).map((p) => decodeDestMessage(p, 2));
    assert.deepEqual(destinationConfig(a), ipvsDestination({ address: '10.244.1.5', port: 53, weight: 2, upperThreshold: 100, lowerThreshold: 10 }));
    assert.deepEqual([a.activeConns, a.inactConns, a.persistConns], [0, 0, 0]);
    const b = decodeDestMessage(CAPTURED.dest[1], 2);
    assert.deepEqual(destinationConfig(b), ipvsDestination({ address: '10.244.2.6', port: 0, fwdMethod: 'tunnel' }));
  });

  test('GET_INFO and GET_CONFIG replies', () => {
    assert.deepEqual(decodeInfo(CAPTURED.info[0]), { version: '1.2.1', connTabSize: 4096 });
    assert.deepEqual(decodeConfig(CAPTURED.config[0]), { tcp: 900, tcpFin: 120, udp: 300 });
  });
});
