// The iptables contract against the in-memory fake kernel.

import { FakeIptablesKernel } from '../../src/kernel/iptables/fake.js';
import { iptablesContract } from './iptables.contract.js';

iptablesContract('fake', async () => ({ driver: new FakeIptablesKernel(), close: async () => undefined }));
iptablesContract('fake ipv6', async () => ({ driver: new FakeIptablesKernel({ family: 'ipv6' }), close: async () => undefined }), true);
