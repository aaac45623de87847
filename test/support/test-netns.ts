/**
 * Network namespaces a test makes for itself (an "outside" network, a probe), as opposed to a mesh's pods. Their
 * names start with TEST_NETNS_PREFIX, so the suite's leftover check knows them as a test's; each is registered for
 * teardown before it is made, so a cancelled test file still removes it, and deleting it takes its veth ends along.
 */
import { onTeardown } from '../../bench/teardown.js';
import { run } from './netns-traces.js';

export const TEST_NETNS_PREFIX = 'wtest-';

export interface TestNetns {
  name: string;
  remove(): Promise<void>;
}

/** `ip netns add wtest-<purpose>`; `purpose` should be unique among tests that may run at once. */
export async function addTestNetns(purpose: string): Promise<TestNetns> {
  const name = `${TEST_NETNS_PREFIX}${purpose}`;
  const remove = async (): Promise<void> => {
    await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    unregister();
  };
  const unregister = onTeardown({ what: `network namespace ${name}`, stop: remove });
  await run('ip', ['netns', 'add', name]);
  return { name, remove };
}
