// The kubelet's per-pod records, one JSON file per pod in its state dir, so
// that a restarted kubelet adopts pods (netns, CNI result, responder pid)
// instead of creating them twice.

import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CniConfList } from './cni.js';

export interface PodRecord {
  namespace: string;
  name: string;
  uid: string;
  hostNetwork: boolean;
  /** Network namespace name (node's /run/netns); undefined for hostNetwork pods. */
  netns?: string;
  containerID?: string;
  /** The config ADD ran with (DEL uses the same) and its result. */
  cni?: { file: string; list: CniConfList; result?: unknown };
  ips: string[];
  /** responder arguments, e.g. tcp:80 */
  ports: string[];
  responderPid?: number;
  startTime: string;
  restartCount: number;
  /** Set once the pod is fully set up. */
  complete: boolean;
}

export class PodRecordStore {
  constructor(readonly dir: string) {}

  private file(rec: Pick<PodRecord, 'namespace' | 'name'>): string {
    return join(this.dir, `${encodeURIComponent(rec.namespace)}_${encodeURIComponent(rec.name)}.json`);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async save(rec: PodRecord): Promise<void> {
    const f = this.file(rec);
    const tmp = `${f}.tmp`;
    await writeFile(tmp, JSON.stringify(rec, null, 1));
    await rename(tmp, f);
  }

  async remove(rec: Pick<PodRecord, 'namespace' | 'name'>): Promise<void> {
    await rm(this.file(rec), { force: true });
  }

  async loadAll(): Promise<PodRecord[]> {
    const out: PodRecord[] = [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return out;
    }
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, n), 'utf8')) as PodRecord);
      } catch {
        // a torn or foreign file: ignore it
      }
    }
    return out;
  }
}
