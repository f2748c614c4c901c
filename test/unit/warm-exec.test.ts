// WarmExec: the next run's process is already started and waiting when the
// run comes; results (exit code, stdout, stderr, timeout) are those of a
// plain exec; an idle process does not keep the process alive.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WarmExec } from '../../src/kernel/warm-exec.js';

// Prints when it started (ms since the epoch), then echoes stdin.
const STAMP = ['sh', '-c', 'echo $(($(date +%s%N) / 1000000)); cat'];

describe('WarmExec', () => {
  it('the second run finds its process started before the run was asked for', async () => {
    const w = new WarmExec();
    try {
      const first = await w.exec(STAMP, { input: 'one\n' });
      assert.equal(first.code, 0);
      assert.match(first.stdout, /^\d+\none\n$/);
      await new Promise((r) => setTimeout(r, 300));
      const askedAt = Date.now();
      const second = await w.exec(STAMP, { input: 'two\n' });
      const startedAt = Number(second.stdout.split('\n')[0]);
      assert.equal(second.stdout.split('\n')[1], 'two');
      assert.ok(startedAt < askedAt - 100, `started ${askedAt - startedAt} ms before it was asked for`);
    } finally {
      w.close();
    }
  });

  it('exit code, stderr and a timeout come back as from a plain exec', async () => {
    const w = new WarmExec();
    try {
      const bad = ['sh', '-c', 'cat >/dev/null; echo "line 3 failed" >&2; exit 3'];
      for (let i = 0; i < 2; i++) {
        const r = await w.exec(bad, { input: 'x\n' });
        assert.deepEqual({ code: r.code, stderr: r.stderr, timedOut: r.timedOut }, { code: 3, stderr: 'line 3 failed\n', timedOut: false });
      }
      const slow = await w.exec(['sh', '-c', 'cat >/dev/null; exec sleep 5'], { input: '', timeoutMs: 200 });
      assert.equal(slow.timedOut, true);
      assert.equal(slow.code, -1);
    } finally {
      w.close();
    }
  });

  it('a missing binary is refused as by a plain exec', async () => {
    const w = new WarmExec();
    await assert.rejects(w.exec(['/nonexistent/iptables-restore'], { input: '' }), /cannot run \/nonexistent\/iptables-restore/);
    await assert.rejects(w.exec(['/nonexistent/iptables-restore'], { input: '' }), /cannot run/);
    w.close();
  });

  it('an idle process does not keep its parent alive', () => {
    const mod = fileURLToPath(new URL('../../src/kernel/warm-exec.js', import.meta.url));
    const script = `import { WarmExec } from ${JSON.stringify(mod)}; const w = new WarmExec(); const r = await w.exec(['cat'], { input: 'x' }); console.log(r.stdout);`;
    const t = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'x');
    assert.ok(Date.now() - t < 5000);
  });
});
