// The routing controller's entry in the registry (src/controllers/registry.ts).
// Registered: routing-3nodes.yaml and pods-same-node.yaml pass in the lab with
// it (issue 4).
import type { ControllerFactory } from '../controller.js';
import { createRoutingController } from './controller.js';

export const routingFactory: ControllerFactory | undefined = createRoutingController;
