// gobgpd supervisor on the host network namespace (no root needed): start,
// detach (graceful restart leaves gobgpd running), adopt, stop; start-up errors.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GobgpdSupervisor } from '../../src/bgp/gobgpd.js';
import { KubeRouterError } from '../../src/errors.js';

const skip = existsSync('/usr/bin/gobgpd') ? false : 'gobgpd not installed';
const PORT = 52000 + (process.pid % 5000);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('gobgpd supervisor: detach and adopt', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'krbgp-sup-'));
  const pids: number[] = [];
  after(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('detach leaves gobgpd running with its config; a new supervisor adopts it and stop() kills it', async () => {
    const logFile = join(dir, 'gobgpd.log');
    const first = new GobgpdSupervisor({ apiPort: PORT, logFile });
    await first.start();
    const pid = first.pid;
    assert.ok(pid);
    pids.push(pid);
    await first.client.startBgp({ asn: 64512, routerId: '10.0.0.1', listenPort: -1, listenAddresses: [] });
    await first.stop({ detach: true });
    assert.ok(alive(pid), 'gobgpd still running after detach');

    const second = new GobgpdSupervisor({ apiPort: PORT, logFile });
    await second.start();
    assert.equal(second.pid, pid, 'adopted, not spawned');
    assert.equal(await second.isConfigured(), true, 'config survived the agent restart');
    await second.stop();
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false);
  });

  it('a gobgpd that cannot start fails start() with KR_ERR_BGP and its output', async () => {
    const sup = new GobgpdSupervisor({ apiPort: PORT + 1, logFile: join(dir, 'bad.log'), extraArgs: ['--no-such-flag'], readyTimeoutMs: 3000 });
    await assert.rejects(sup.start(), (e: unknown) => e instanceof KubeRouterError && e.code === 'KR_ERR_BGP' && /no-such-flag/.test(e.message));
    await sup.stop();
  });
});
