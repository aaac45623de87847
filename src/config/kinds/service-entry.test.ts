import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceEntrySpecSchema, checkServiceEntry } from './service-entry.js';

const issues = (spec: unknown): string[] => checkServiceEntry(ServiceEntrySpecSchema.parse(spec)).map((i) => i.path.join('.'));

describe('ServiceEntry exportTo and hosts', () => {
  const rows: Array<{ name: string; spec: Record<string, unknown>; want: string[] }> = [
    { name: 'absent exportTo', spec: {}, want: [] },
    { name: '"*", ".", a namespace', spec: { exportTo: ['.', 'istio-system'] }, want: [] },
    { name: '"~" alone', spec: { exportTo: ['~'] }, want: [] },
    { name: '"~" with others', spec: { exportTo: ['~', '.'] }, want: ['exportTo.0'] },
    { name: 'not a namespace name', spec: { exportTo: ['Bad_NS'] }, want: ['exportTo.0'] },
    { name: 'host "*"', spec: { hosts: ['a.example.com', '*'] }, want: ['hosts.1'] },
    { name: 'wildcard domain host', spec: { hosts: ['*.example.com'] }, want: [] },
  ];
  for (const r of rows) test(r.name, () => assert.deepEqual(issues({ hosts: ['a.example.com'], ...r.spec }), r.want));
});
