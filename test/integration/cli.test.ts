// The built `kube-router` binary: --help, --version, exit status 2 with one
// stderr line on bad input, warnings logged once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FLAGS } from '../../src/cmd/options/index.js';
import { defaultText } from '../../src/cmd/options/values.js';

// dist/test/integration -> dist/src/cmd/kube-router.js
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cmd', 'kube-router.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(err);
          return;
        }
        resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
      });
  });
}

describe('kube-router CLI', () => {
  it('--help exits 0 and lists every flag with its default', async () => {
    for (const arg of ['--help', '-h']) {
      const r = await run([arg]);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^Usage of kube-router:\n/);
      for (const f of FLAGS) {
        assert.ok(r.stdout.includes(`--${f.name}`), `--${f.name} listed`);
        if (f.name !== 'help' && f.name !== 'version') {
          const line = r.stdout.split('\n').find((l) => new RegExp(`--${f.name}( |$)`).test(l)) ?? '';
          assert.ok(line.includes(`(default ${defaultText(f)})`), `--${f.name} default in: ${line}`);
        }
      }
    }
  });

  it('--version / -V print this version and the kube-router version followed', async () => {
    for (const arg of ['--version', '-V']) {
      const r = await run([arg]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^kube-router-ts v0\.\d+\.\d+\ncompatible with kube-router v2\.11/);
    }
  });

  it('bad input exits 2 with one stderr line naming the flag', async () => {
    const cases: Array<[string[], string, string]> = [
      [['--no-such-flag'], '--no-such-flag', 'unknown flag'],
      [['--cluster-asn=abc'], '--cluster-asn', '"abc"'],
      [['--cluster-asn=100'], '--cluster-asn', '64512-65535'],
      [['--ipvs-sync-period=0'], '--ipvs-sync-period', 'greater than 0'],
      [['--routes-sync-period=-1m'], '--routes-sync-period', 'greater than 0'],
      [['--service-cluster-ip-range=10.96.0.0/40'], '--service-cluster-ip-range', '"10.96.0.0/40"'],
      [['--excluded-cidrs=nope'], '--excluded-cidrs', 'CIDRs'],
      [['--cluster-cidr=10.0.0.0'], '--cluster-cidr', 'CIDRs'],
      [['--loadbalancer-ip-range=1.2.3.4/33'], '--loadbalancer-ip-range', 'CIDRs'],
      [['--service-external-ip-range=x'], '--service-external-ip-range', 'CIDRs'],
      [['--peer-router-ips=1.2.3'], '--peer-router-ips', 'IP addresses'],
      [['--peer-router-ips=192.0.2.1,192.0.2.2', '--peer-router-asns=65001'], '--peer-router-asns', 'one ASN per'],
      [['--peer-router-ips=192.0.2.1', '--peer-router-asns=65001', '--peer-router-ports=179,179'],
        '--peer-router-ports', 'one per'],
      [['--peer-router-ips=192.0.2.1', '--peer-router-asns=65001', '--peer-router-ports=99999'],
        '--peer-router-ports', '1 to 65535'],
      [['--overlay-type=mesh'], '--overlay-type', '"subnet", "full"'],
      [['--overlay-encap=gre'], '--overlay-encap', '"ipip", "fou"'],
      [['--service-node-port-range=30000'], '--service-node-port-range', '"a-b" or "a:b"'],
      [['--kubeconfig'], '--kubeconfig', 'needs an argument'],
      [['--run-router=maybe'], '--run-router', 'boolean'],
      [['--run-router', 'false'], '--run-router', '--run-router=false'],
      [['--health-port=70000'], '--health-port', '0 to 65535'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    cases.forEach(([args, flag, expected], i) => {
      const r = results[i];
      const what = args.join(' ');
      assert.equal(r.code, 2, `${what}: exit 2 (stderr: ${r.stderr})`);
      assert.equal(r.stdout, '', what);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `${what}: one stderr line, got ${JSON.stringify(r.stderr)}`);
      assert.ok(lines[0].includes(flag), `${what}: names ${flag}: ${lines[0]}`);
      assert.ok(lines[0].includes(expected), `${what}: says ${expected}: ${lines[0]}`);
    });
  });

  it('logs each flag warning once, and exits 0 when no controller is enabled', async () => {
    const r = await run(['--run-router=false', '--run-firewall=false', '--run-service-proxy=false',
      '--enable-bfd', '--enable-bfd', '--cluster-cidr=10.244.0.0/16', '--hostname-override=node-x']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const msgs = lines.map((l) => String(l.msg));
    assert.equal(msgs.filter((m) => m.includes('--enable-bfd')).length, 1);
    assert.equal(msgs.filter((m) => m.includes('--cluster-cidr is deprecated')).length, 1);
    assert.ok(msgs.some((m) => m.includes('functionality must be specified')));
    for (const l of lines) {
      assert.equal(l.component, 'kube-router');
      assert.equal(l.node, 'node-x');
    }
    assert.equal(lines.find((l) => String(l.msg).includes('--enable-bfd'))?.level, 40);
  });
});
