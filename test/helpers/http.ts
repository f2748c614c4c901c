// Small helpers shared by the tests that talk to the agent's HTTP endpoints.
import http from 'node:http';
import net from 'node:net';

/** A loopback port that was free a moment ago (listen on 0, close, reuse). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

export interface HttpReply {
  status: number;
  text: string;
  contentType: string;
}

/** GET `url` and collect the whole body as text. */
export function httpGet(url: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, contentType: String(res.headers['content-type']) }));
      })
      .on('error', reject);
  });
}
