// The lab API server's certificates, built with node:crypto: ECDSA P-256
// (default) and RSA chains that verify, names and IPs in the SAN, the CA and
// serving extensions; checkServingCerts; and ready-made certs passed to the
// server (`certs` option).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { KubeRouterError } from '../../src/errors.js';
import { checkServingCerts, makeServingCertsSync, startLabApiServer, type ServingCerts } from '../../src/lab/apiserver/index.js';
import { namedBits, oid, time, uint } from '../../src/lab/apiserver/der.js';

const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => fs.existsSync(p));

function get(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe('DER encoding', () => {
  it('encodes OIDs, integers, named bits and times as DER', () => {
    assert.equal(oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
    assert.equal(uint(Buffer.from([0x00, 0x00, 0x80])).toString('hex'), '02020080');
    assert.equal(uint(2).toString('hex'), '020102');
    // digitalSignature (0), keyCertSign (5), cRLSign (6): 1000 0110, one unused bit.
    assert.equal(namedBits([0, 5, 6]).toString('hex'), '03020186');
    assert.equal(namedBits([0]).toString('hex'), '03020780');
    assert.equal(time(new Date('2030-01-02T03:04:05Z')).toString('ascii').slice(2), '300102030405Z');
    assert.equal(time(new Date('2051-01-02T03:04:05Z')).toString('ascii').slice(2), '20510102030405Z');
  });
});

describe('lab API server certificates', () => {
  for (const keyType of ['ec', 'rsa'] as const) {
    it(`${keyType}: the serving certificate verifies against the CA and covers the names`, () => {
      const c = makeServingCertsSync(['192.168.56.1', 'fd00::1', 'lab.example'], { keyType });
      const ca = new X509Certificate(c.caPem);
      const cert = new X509Certificate(c.certPem);
      assert.equal(ca.ca, true);
      assert.equal(cert.ca, false);
      assert.ok(ca.verify(ca.publicKey), 'CA self-signed');
      assert.ok(cert.verify(ca.publicKey));
      assert.ok(cert.checkPrivateKey(createPrivateKey(c.keyPem)));
      assert.equal(cert.publicKey.asymmetricKeyType, keyType);
      for (const h of ['localhost', 'kubernetes.default.svc.cluster.local', 'lab.example']) assert.equal(cert.checkHost(h), h);
      for (const ip of ['127.0.0.1', '::1', '192.168.56.1', 'fd00::1']) assert.ok(cert.checkIP(ip), ip);
      assert.equal(cert.checkHost('other.example'), undefined);
      assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
      assert.doesNotThrow(() => checkServingCerts(c, ['192.168.56.1', 'lab.example']));
    });
  }

  it('openssl verifies the chain strictly for TLS server use', { skip: OPENSSL === undefined ? 'no openssl' : false }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-certs-'));
    try {
      const c = makeServingCertsSync(['10.96.0.1']);
      fs.writeFileSync(path.join(dir, 'ca.pem'), c.caPem);
      fs.writeFileSync(path.join(dir, 'cert.pem'), c.certPem);
      const out = execFileSync(OPENSSL as string, ['verify', '-x509_strict', '-purpose', 'sslserver', '-verify_ip', '10.96.0.1', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'cert.pem')], { encoding: 'utf8' });
      assert.match(out, /: OK/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checkServingCerts rejects a foreign key, another CA, an uncovered name', () => {
    const a = makeServingCertsSync();
    const b = makeServingCertsSync();
    const rejects = (c: ServingCerts, hosts: string[], re: RegExp): void =>
      assert.throws(() => checkServingCerts(c, hosts), (e: unknown) => e instanceof KubeRouterError && e.code === 'KR_ERR_LAB' && re.test(e.message));
    rejects({ ...a, keyPem: b.keyPem }, [], /key does not belong/);
    rejects({ ...a, caPem: b.caPem }, [], /not signed by the CA/);
    rejects(a, ['192.168.56.1'], /does not cover 192.168.56.1/);
    rejects({ ...a, certPem: 'junk' }, [], /cannot parse/);
  });

  it('makes a CA and serving pair in well under a second', () => {
    const t0 = performance.now();
    makeServingCertsSync(['192.168.56.1']);
    assert.ok(performance.now() - t0 < 1000);
  });

  it('the server uses ready-made certs, and refuses ones that do not cover its address', async () => {
    const certs = makeServingCertsSync(['127.0.0.1']);
    const srv = await startLabApiServer({ port: 0, certs });
    try {
      assert.equal(srv.caPem, certs.caPem);
      assert.equal(await get(`${srv.url}/livez`, certs.caPem), 200);
    } finally {
      await srv.close();
    }
    await assert.rejects(startLabApiServer({ port: 0, certs, certHosts: ['lab.example'] }), /does not cover lab.example/);
  });
});
