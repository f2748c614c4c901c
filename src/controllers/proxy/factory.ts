// The proxy controller's entry in the registry (src/controllers/registry.ts).
// Set once the controller passed test/lab/proxy-services.yaml and
// test/lab/pods-same-node.yaml in the lab.
import type { ControllerFactory } from '../controller.js';
import { createProxyController } from './create.js';

export const proxyFactory: ControllerFactory | undefined = createProxyController;
