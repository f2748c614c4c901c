// Request/response plumbing for the REST layer: bodies, JSON answers,
// Status answers, media types.

import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { PROTOBUF, decodeProtobufObject } from './protobuf.js';
import { StatusError, badRequest, unsupportedMediaType, type K8sStatus } from './status.js';

export const MAX_BODY = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The media type without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** Parses a request body of type JSON (or YAML, which kube-apiserver also accepts). */
export function parseObjectBody(buf: Buffer, contentType: string | undefined, allowed: string[] = ['application/json', 'application/yaml']): unknown {
  const mt = mediaType(contentType) || 'application/json';
  if (mt === PROTOBUF && allowed.includes('application/json')) return decodeProtobufObject(buf);
  if (!allowed.includes(mt)) throw unsupportedMediaType(mt, allowed);
  const text = buf.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  try {
    if (mt === 'application/yaml' || mt === 'application/apply-patch+yaml') return YAML.parse(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function sendJSON(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    'X-Kubernetes-Pf-Flowschema-Uid': 'lab',
  });
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: K8sStatus): void {
  sendJSON(res, status.code, status);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof StatusError) {
    sendStatus(res, err.status);
    return;
  }
  const msg = err instanceof Error ? err.message : String(err);
  sendStatus(res, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: msg, reason: 'InternalError', code: 500 });
}

/** True when the client asked for a meta.k8s.io Table (`kubectl get`). */
export function wantsTable(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((s) => s.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && (params.includes('v=v1') || params.includes('v=v1beta1')) && params[0] === 'application/json';
  });
}

/** True when the client asked for metadata only (client-go's metadata client): as=PartialObjectMetadata[List]. */
export function wantsMetadataOnly(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((s) => s.trim());
    return params[0] === 'application/json' && params.includes('g=meta.k8s.io') && params.includes('v=v1') && (params.includes('as=PartialObjectMetadataList') || params.includes('as=PartialObjectMetadata'));
  });
}

/** True when the client can take a JSON answer (anything but protobuf-only). */
export function acceptsJSON(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const mt = part.split(';')[0].trim().toLowerCase();
    return mt === 'application/json' || mt === '*/*' || mt === 'application/*' || mt === 'application/yaml' || mt === 'application/json;stream=watch';
  });
}

export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: "${v}"`);
  return Number(v);
}
