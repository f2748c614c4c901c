// The LoadBalancer IP allocator's entry in the registry (src/controllers/registry.ts).
// Registered: allocation from --loadbalancer-ip-range under a Lease works end
// to end against the lab API server (test/integration/lballoc*.test.ts) and
// in the lab (test/lab/lballoc.yaml).
import type { ControllerFactory } from '../controller.js';
import { createLbAllocController } from './controller.js';

export const lballocFactory: ControllerFactory | undefined = createLbAllocController;
