import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLocalPod } from '../local-pod.js';
import type { LocalPod } from '../local-pod.js';
import { grpcFrame, grpcMessages } from './grpc-frame.js';

describe('gRPC framing', () => {
  test('frames round-trip, several in one buffer', () => {
    assert.deepEqual(grpcMessages(Buffer.concat([grpcFrame('a'), grpcFrame(''), grpcFrame('héllo')])), ['a', '', 'héllo']);
  });
  test('a cut frame, a compressed frame and a lying length are refused', () => {
    const f = grpcFrame('hello');
    assert.equal(grpcMessages(f.subarray(0, 7)), undefined);
    assert.equal(grpcMessages(Buffer.from([1, 0, 0, 0, 0])), undefined);
    assert.equal(grpcMessages(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1])), undefined);
  });
});

describe('grpc-echo and grpc-call over h2c', () => {
  let pod: LocalPod;
  before(async () => {
    pod = await startLocalPod(new URL('./grpc-echo.js', import.meta.url), { POD_NAME: 'grpc-echo-v1' });
  });
  after(async () => {
    await pod.stop();
  });

  const call = (target: string, message: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [fileURLToPath(new URL('./grpc-call.js', import.meta.url)), target, message], { timeout: 15_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  test('a call is echoed with the pod name and grpc-status 0', async () => {
    const r = await call(new URL(pod.url).host, 'hi there');
    assert.deepEqual(r, { code: 0, stdout: 'grpc-echo-v1: hi there\ngrpc-status: 0\n', stderr: '' });
  });
});
