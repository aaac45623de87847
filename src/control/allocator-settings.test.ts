import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROL_PLANE_MALLOC_ENV, CONTROL_PLANE_V8_FLAGS, controlPlaneEnv, missingAllocatorSettings } from './allocator-settings.js';

describe('control-plane allocator settings', () => {
  test('a control plane is started with the thresholds set, and the caller may override them', () => {
    const env = controlPlaneEnv({ PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '0' });
    assert.equal(env['MALLOC_MMAP_THRESHOLD_'], CONTROL_PLANE_MALLOC_ENV['MALLOC_MMAP_THRESHOLD_']);
    assert.equal(env['MALLOC_TRIM_THRESHOLD_'], '0');
    assert.equal(env['PATH'], '/bin');
  });

  test('a process started without them says which are missing', () => {
    assert.deepEqual(missingAllocatorSettings({}), [...Object.keys(CONTROL_PLANE_MALLOC_ENV), ...CONTROL_PLANE_V8_FLAGS]);
    assert.deepEqual(missingAllocatorSettings(controlPlaneEnv({})), []);
    assert.deepEqual(missingAllocatorSettings({ ...CONTROL_PLANE_MALLOC_ENV }, ['--max-semi-space-size=8', '--heap-growing-percent=20']), [], 'flags given on the command line, with any value');
    assert.deepEqual(missingAllocatorSettings({ ...CONTROL_PLANE_MALLOC_ENV }, ['--max-semi-space-size=8']), ['--heap-growing-percent=50'], 'each flag is looked for on its own');
  });

  test("the V8 flags join the caller's NODE_OPTIONS, and a value the caller gives wins", () => {
    assert.equal(controlPlaneEnv({})['NODE_OPTIONS'], CONTROL_PLANE_V8_FLAGS.join(' '));
    assert.equal(controlPlaneEnv({ NODE_OPTIONS: '--enable-source-maps' })['NODE_OPTIONS'], ['--enable-source-maps', ...CONTROL_PLANE_V8_FLAGS].join(' '));
    assert.equal(controlPlaneEnv({ NODE_OPTIONS: ' --max-semi-space-size=16 ' })['NODE_OPTIONS'], '--max-semi-space-size=16 --heap-growing-percent=50');
    assert.equal(controlPlaneEnv({ NODE_OPTIONS: '--heap-growing-percent=100 --max-semi-space-size=16' })['NODE_OPTIONS'], '--heap-growing-percent=100 --max-semi-space-size=16');
  });
});
