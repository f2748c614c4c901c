// The generic-netlink channel under LinuxIpvs, exercised against the host
// kernel's genl controller (present everywhere, unprivileged): requests,
// errnos as numbers, serialized dumps, pipelined batches.

import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { test } from 'node:test';
import { GENL_ID_CTRL, genl, parseGenlHeader } from 'netlink';
import { ChannelError, GenlChannel } from '../../src/kernel/netlink/channel.js';

const CTRL_ATTR_FAMILY_NAME = 2;

/** CTRL_CMD_GETFAMILY for one family name, built by hand. */
function getFamily(name: string): Buffer {
  const s = Buffer.from(`${name}\0`);
  const attr = Buffer.alloc(4 + s.length + ((4 - (s.length % 4)) % 4));
  attr.writeUInt16LE(4 + s.length, 0);
  attr.writeUInt16LE(CTRL_ATTR_FAMILY_NAME, 2);
  s.copy(attr, 4);
  return Buffer.concat([Buffer.from([genl.Commands.GET_FAMILY, 1, 0, 0]), attr]);
}

function familyName(p: Buffer): string | undefined {
  return genl.parseMessage(p.subarray(parseGenlHeader(p).consumed)).familyName;
}

test('GenlChannel: a request, an errno, a dump, family resolution', async () => {
  const ch = new GenlChannel({ timeoutMs: 3000 });
  try {
    const [reply, ...more] = await ch.request(GENL_ID_CTRL, getFamily('nlctrl'), false);
    assert.equal(more.length, 0);
    assert.equal(familyName(reply), 'nlctrl');
    await assert.rejects(ch.request(GENL_ID_CTRL, getFamily('no-such-family'), false), (e: unknown) => {
      assert.ok(e instanceof ChannelError);
      assert.equal(e.errno, constants.errno.ENOENT);
      return true;
    });
    // Two dumps asked at once are serialized (the kernel would answer EBUSY otherwise).
    const dump = Buffer.from([genl.Commands.GET_FAMILY, 1, 0, 0]);
    const [a, b] = await Promise.all([ch.request(GENL_ID_CTRL, dump, true), ch.request(GENL_ID_CTRL, dump, true)]);
    assert.ok(a.length > 1);
    assert.deepEqual(a.map(familyName), b.map(familyName));
    assert.equal(await ch.resolveFamily('nlctrl'), GENL_ID_CTRL);
    assert.equal(await ch.resolveFamily('IPVS-not-here'), undefined);
  } finally {
    ch.close();
  }
});

test('GenlChannel: a pipelined batch answers every request, in order', async () => {
  const ch = new GenlChannel({ timeoutMs: 5000 });
  try {
    const payloads = Array.from({ length: 600 }, (_, i) => getFamily(i % 3 === 0 ? `missing-${i}` : 'nlctrl'));
    const t0 = performance.now();
    const results = await ch.pipeline(GENL_ID_CTRL, payloads, 64);
    const ms = performance.now() - t0;
    assert.equal(results.length, 600);
    results.forEach((r, i) => {
      if (i % 3 === 0) assert.equal(r?.errno, constants.errno.ENOENT, `request ${i}`);
      else assert.equal(r, undefined, `request ${i}`);
    });
    // A dump right after a batch still works on the same socket.
    assert.ok((await ch.request(GENL_ID_CTRL, Buffer.from([genl.Commands.GET_FAMILY, 1, 0, 0]), true)).length > 1);
    console.log(`# 600 pipelined genl requests in ${ms.toFixed(1)} ms`);
  } finally {
    ch.close();
  }
});
