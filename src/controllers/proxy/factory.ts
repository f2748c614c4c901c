// The proxy controller's entry in the registry (src/controllers/registry.ts).
// It stays undefined until the controller works end to end in the lab; the
// agent then reports --run-* for it as "enabled but not built yet".
import type { ControllerFactory } from '../controller.js';

export const proxyFactory: ControllerFactory | undefined = undefined;
