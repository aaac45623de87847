import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarSpecSchema, checkSidecar } from './sidecar.js';

const issues = (spec: unknown): string[] => checkSidecar(SidecarSpecSchema.parse(spec)).map((i) => i.path.join('.'));
const port = (number: number) => ({ number, protocol: 'HTTP', name: `p${number}` });

describe('Sidecar egress', () => {
  const rows: Array<{ name: string; egress: unknown[]; want: string[] }> = [
    { name: 'Istio reference: one catch-all', egress: [{ hosts: ['./*', 'istio-system/*'] }], want: [] },
    { name: 'port listeners then the catch-all last', egress: [{ port: port(9080), hosts: ['prod-us1/*'] }, { hosts: ['istio-system/*'] }], want: [] },
    { name: 'catch-all not last', egress: [{ hosts: ['istio-system/*'] }, { port: port(9080), hosts: ['prod-us1/*'] }], want: ['egress.0.port'] },
    { name: 'two catch-alls', egress: [{ hosts: ['./*'] }, { hosts: ['istio-system/*'] }], want: ['egress.0.port', 'egress.1.port'] },
    { name: 'host without a namespace', egress: [{ hosts: ['reviews.default.svc.cluster.local'] }], want: ['egress.0.hosts.0'] },
    { name: 'dnsName forms', egress: [{ hosts: ['*/*', '~/*', './*.example.com', 'ns/api.example.com'] }], want: [] },
    { name: 'a "*" inside a name', egress: [{ hosts: ['*/api.*.com'] }], want: ['egress.0.hosts.0'] },
  ];
  for (const r of rows) test(r.name, () => assert.deepEqual(issues({ egress: r.egress }), r.want));
});
