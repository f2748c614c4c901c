// Seed files: multi-document YAML of Kubernetes objects (a `kind: List`
// document is flattened).

import YAML from 'yaml';
import type { StoredObject } from './types.js';
import { isObject } from './obj.js';
import { KubeRouterError } from '../../errors.js';

export function parseSeedYaml(text: string, source = 'seed'): StoredObject[] {
  const out: StoredObject[] = [];
  const docs = YAML.parseAllDocuments(text);
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw new KubeRouterError('KR_ERR_CONFIG', `${source}: document ${i + 1}: ${doc.errors[0].message}`, { field: source });
    }
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) return;
    const items = isObject(v) && v.kind === 'List' && Array.isArray(v.items) ? v.items : [v];
    for (const it of items) {
      if (!isObject(it) || typeof it.kind !== 'string' || !isObject(it.metadata)) {
        throw new KubeRouterError('KR_ERR_CONFIG', `${source}: document ${i + 1} is not a Kubernetes object (kind and metadata required)`, { field: source });
      }
      out.push(it as StoredObject);
    }
  });
  return out;
}
