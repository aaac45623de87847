import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROL_PLANE_MALLOC_ENV, controlPlaneEnv, missingAllocatorSettings } from './allocator-settings.js';

describe('control-plane allocator settings', () => {
  test('a control plane is started with the thresholds set, and the caller may override them', () => {
    const env = controlPlaneEnv({ PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '0' });
    assert.equal(env['MALLOC_MMAP_THRESHOLD_'], CONTROL_PLANE_MALLOC_ENV['MALLOC_MMAP_THRESHOLD_']);
    assert.equal(env['MALLOC_TRIM_THRESHOLD_'], '0');
    assert.equal(env['PATH'], '/bin');
  });

  test('a process started without them says which are missing', () => {
    assert.deepEqual(missingAllocatorSettings({}), Object.keys(CONTROL_PLANE_MALLOC_ENV));
    assert.deepEqual(missingAllocatorSettings(controlPlaneEnv({})), []);
  });
});
