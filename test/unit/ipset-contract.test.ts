// The ipset contract against the in-memory fake kernel.

import { FakeIpsetKernel } from '../../src/kernel/ipset/fake.js';
import { ipsetContract } from './ipset.contract.js';

ipsetContract('fake', async () => {
  const kernel = new FakeIpsetKernel();
  return {
    driver: kernel,
    reference: async (n) => kernel.reference(n),
    unreference: async (n) => kernel.unreference(n),
    close: async () => undefined,
  };
});
