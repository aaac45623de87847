/** Which config a proxy runs, from what was sent and what it answered; and runtime requests answered, refused or dropped. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyConfig } from '../proxyconfig/types.js';
import { AckedConfigs } from './acked-configs.js';
import { RuntimeRequests } from './runtime-requests.js';

const cfg = (version: string): ProxyConfig => ({ version }) as ProxyConfig;

test('the running config follows ACKs; a NACK leaves the last good one', () => {
  type Step = ['sent' | 'ack' | 'nack', string];
  const cases: Array<{ steps: Step[]; running: string | undefined }> = [
    { steps: [], running: undefined },
    { steps: [['sent', 'a']], running: undefined },
    { steps: [['sent', 'a'], ['ack', 'a']], running: 'a' },
    { steps: [['sent', 'a'], ['ack', 'a'], ['sent', 'b'], ['nack', 'b']], running: 'a' },
    { steps: [['sent', 'a'], ['ack', 'a'], ['sent', 'b'], ['nack', 'b'], ['ack', 'b']], running: 'a' },
    { steps: [['sent', 'a'], ['sent', 'b'], ['ack', 'b'], ['ack', 'a']], running: 'b' },
    { steps: [['sent', 'a'], ['ack', 'x']], running: undefined },
    { steps: [['sent', 'a'], ['ack', 'a'], ['ack', 'a']], running: 'a' },
  ];
  for (const c of cases) {
    const acked = new AckedConfigs(() => 0);
    for (const [what, v] of c.steps) {
      if (what === 'sent') acked.sent('sidecar/default/x', cfg(v));
      else if (what === 'ack') acked.ack('sidecar/default/x', v);
      else acked.nack('sidecar/default/x', v);
    }
    assert.equal(acked.running('sidecar/default/x')?.config.version, c.running, JSON.stringify(c.steps));
  }
});

test('runtime requests: answered by the same stream only, refused with the reason, dropped with the stream', async () => {
  const r = new RuntimeRequests(60_000);
  const stream = {};
  const other = {};
  let sent = '';
  const answered = r.ask(stream, 'p', (id) => (sent = id));
  r.answer(other, sent, { clusters: [] });
  r.answer(stream, sent, { clusters: [] });
  assert.deepEqual(await answered, { clusters: [] });

  const refused = r.ask(stream, 'p', (id) => (sent = id));
  r.answer(stream, sent, undefined, 'broken');
  await assert.rejects(refused, /could not report its runtime state: broken/);

  const dropped = r.ask(stream, 'p', () => undefined);
  r.drop(stream, 'p');
  await assert.rejects(dropped, /disconnected before it reported/);
});
