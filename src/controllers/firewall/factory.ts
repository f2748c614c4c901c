// The firewall controller's entry in the registry (src/controllers/registry.ts).
// Registered: NetworkPolicy enforcement works end to end in the lab
// (test/lab/netpol-same-node.yaml, test/lab/pods-same-node.yaml).
import type { ControllerFactory } from '../controller.js';
import { createFirewallController } from './controller.js';

export const firewallFactory: ControllerFactory | undefined = createFirewallController;
