import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRuntimeV8Flags, CONTROL_PLANE_MALLOC_ENV, CONTROL_PLANE_RUNTIME_V8_FLAGS, CONTROL_PLANE_V8_FLAGS, controlPlaneEnv, missingAllocatorSettings } from './allocator-settings.js';

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
    assert.deepEqual(missingAllocatorSettings({ ...CONTROL_PLANE_MALLOC_ENV }, ['--max-semi-space-size=8']), [], 'a flag given on the command line, with any value');
  });

  test("the V8 flags join the caller's NODE_OPTIONS, and a value the caller gives wins", () => {
    assert.equal(controlPlaneEnv({})['NODE_OPTIONS'], CONTROL_PLANE_V8_FLAGS.join(' '));
    assert.equal(controlPlaneEnv({ NODE_OPTIONS: '--enable-source-maps' })['NODE_OPTIONS'], ['--enable-source-maps', ...CONTROL_PLANE_V8_FLAGS].join(' '));
    assert.equal(controlPlaneEnv({ NODE_OPTIONS: ' --max-semi-space-size=16 ' })['NODE_OPTIONS'], '--max-semi-space-size=16');
  });

  test('the runtime flags are set unless the command line gives them', () => {
    // Setting a flag V8 already has to the same value is harmless; the first call may set it, the second must not.
    assert.deepEqual(applyRuntimeV8Flags(['--heap-growing-percent=30']), []);
    assert.deepEqual(applyRuntimeV8Flags(['--max-semi-space-size=2']), [...CONTROL_PLANE_RUNTIME_V8_FLAGS]);
  });
});
