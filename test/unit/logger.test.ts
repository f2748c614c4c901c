// Logger: klog verbosity mapping, base fields, secret redaction, pretty output.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, levelForVerbosity, REDACT_CENSOR } from '../../src/log/logger.js';

class Buffer extends Writable {
  chunks: string[] = [];
  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    cb();
  }
  get text(): string {
    return this.chunks.join('');
  }
  lines(): Array<Record<string, unknown>> {
    return this.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

describe('logger', () => {
  it('maps klog -v to pino levels: 0-1 info, 2-3 debug, 4+ trace', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map(levelForVerbosity),
      ['info', 'info', 'debug', 'debug', 'trace', 'trace', 'trace']);
    assert.equal(createLogger({ verbosity: 0, destination: new Buffer() }).level, 'info');
    assert.equal(createLogger({ verbosity: 3, destination: new Buffer() }).level, 'debug');
    assert.equal(createLogger({ verbosity: 4, destination: new Buffer() }).level, 'trace');
  });

  it('writes NDJSON with component and node, filtered by level', () => {
    const out = new Buffer();
    const log = createLogger({ verbosity: 2, destination: out, node: 'node-a' });
    log.trace('hidden');
    log.debug({ svc: 'default/web' }, 'shown');
    const lines = out.lines();
    assert.equal(lines.length, 1);
    assert.equal(lines[0].msg, 'shown');
    assert.equal(lines[0].component, 'kube-router');
    assert.equal(lines[0].node, 'node-a');
    assert.equal(lines[0].svc, 'default/web');
    assert.equal(lines[0].level, 20);
  });

  it('omits node when it is not known', () => {
    const out = new Buffer();
    createLogger({ verbosity: 0, destination: out }).info('x');
    assert.equal(out.lines()[0].component, 'kube-router');
    assert.equal('node' in out.lines()[0], false);
  });

  it('redacts BGP passwords and bearer tokens', () => {
    const out = new Buffer();
    const log = createLogger({ verbosity: 0, destination: out });
    const secrets = ['c2VjcmV0MQ==', 'c2VjcmV0Mg==', 'pw-peer', 'auth-pw', 'tok-1', 'tok-2', 'Bearer abc.def', 'b-tok',
      'pws-1', 'deep-pw', 'req-auth'];
    log.info({ peerRouterPasswords: [secrets[0]] }, 'top-level options field');
    log.info({ options: { peerRouterPasswords: [secrets[1]], kubeconfig: '/k' } }, 'nested options');
    log.info({ peer: { address: '192.0.2.1', password: secrets[2], authPassword: secrets[3] } }, 'peer');
    log.info({ token: secrets[4], auth: { token: secrets[5] } }, 'tokens');
    log.info({ headers: { authorization: secrets[6] }, client: { bearerToken: secrets[7] } }, 'headers');
    log.info({ node: { passwords: [secrets[8]] } }, 'annotation passwords');
    log.info({ neighbor: { config: { authPassword: secrets[9] } } }, 'two levels');
    log.info({ req: { headers: { authorization: secrets[10] } } }, 'request');
    for (const s of secrets) assert.ok(!out.text.includes(s), `secret ${s} absent`);
    assert.ok(out.text.includes(REDACT_CENSOR));
    assert.equal(REDACT_CENSOR, '[REDACTED]');
    const lines = out.lines();
    assert.equal((lines[1].options as Record<string, unknown>).kubeconfig, '/k', 'other fields kept');
    assert.equal((lines[2].peer as Record<string, unknown>).address, '192.0.2.1');
  });

  it('pretty mode writes readable text synchronously, still redacted', () => {
    const out = new Buffer();
    const log = createLogger({ verbosity: 0, destination: out, pretty: true, node: 'n1' });
    log.warn({ peer: { password: 'hunter2' } }, 'hello pretty');
    assert.match(out.text, /WARN/);
    assert.match(out.text, /hello pretty/);
    assert.ok(!out.text.includes('hunter2'));
    assert.throws(() => JSON.parse(out.text.split('\n')[0]));
  });
});
