// An in-memory PodSandboxLookup for unit tests: pods are registered with
// their namespace path; an unknown pod rejects like the real client does.
import { KubeRouterError } from '../errors.js';
import type { PodNetns, PodSandboxLookup } from './types.js';

export class FakePodSandboxes implements PodSandboxLookup {
  readonly pods = new Map<string, string>();
  calls = 0;

  set(namespace: string, name: string, path: string): void {
    this.pods.set(`${namespace}/${name}`, path);
  }

  async podNetns(namespace: string, name: string): Promise<PodNetns> {
    this.calls++;
    const pod = `${namespace}/${name}`;
    const path = this.pods.get(pod);
    if (path === undefined) {
      throw new KubeRouterError('KR_ERR_CRI', `Pod ${pod}: no ready sandbox (fake)`, { object: `Pod ${pod}`, call: 'runtime.v1.RuntimeService/ListPodSandbox' });
    }
    return { pod, sandboxId: `fake-${pod}`, path };
  }

  close(): void {}
}
