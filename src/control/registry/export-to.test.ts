import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportToAnnotation, isExportedTo } from './export-to.js';
import type { ExportTo } from './export-to.js';

// Istio's exportTo (ServiceEntry.exportTo, the networking.istio.io/exportTo annotation): absent or `*` means every
// namespace, `.` the owner's own namespace, `~` none at all, any other entry a namespace by name.
const rows: Array<{ exportTo: ExportTo; owner: string; from: string; want: boolean }> = [
  { exportTo: undefined, owner: 'bookinfo', from: 'other', want: true },
  { exportTo: [], owner: 'bookinfo', from: 'other', want: true },
  { exportTo: ['*'], owner: 'bookinfo', from: 'other', want: true },
  { exportTo: ['.'], owner: 'bookinfo', from: 'bookinfo', want: true },
  { exportTo: ['.'], owner: 'bookinfo', from: 'other', want: false },
  { exportTo: ['~'], owner: 'bookinfo', from: 'bookinfo', want: false },
  { exportTo: ['~'], owner: 'bookinfo', from: 'other', want: false },
  { exportTo: ['istio-system'], owner: 'bookinfo', from: 'istio-system', want: true },
  { exportTo: ['istio-system'], owner: 'bookinfo', from: 'bookinfo', want: false },
  { exportTo: ['.', 'istio-system'], owner: 'bookinfo', from: 'bookinfo', want: true },
  { exportTo: ['.', 'istio-system'], owner: 'bookinfo', from: 'istio-system', want: true },
  { exportTo: ['.', 'istio-system'], owner: 'bookinfo', from: 'other', want: false },
  { exportTo: ['.', '*'], owner: 'bookinfo', from: 'other', want: true },
  // Validation refuses `~` beside other entries; one stored anyway hides rather than exposes.
  { exportTo: ['~', '*'], owner: 'bookinfo', from: 'bookinfo', want: false },
];

describe('isExportedTo', () => {
  for (const r of rows) {
    test(`exportTo ${JSON.stringify(r.exportTo)} of ${r.owner}, seen from ${r.from}: ${r.want}`, () => {
      assert.equal(isExportedTo(r.exportTo, r.owner, r.from), r.want);
    });
  }
});

describe('exportToAnnotation', () => {
  const cases: Array<[Record<string, string>, ExportTo]> = [
    [{}, undefined],
    [{ 'networking.istio.io/exportTo': '.' }, ['.']],
    [{ 'networking.istio.io/exportTo': ' ., istio-system ,' }, ['.', 'istio-system']],
    [{ 'networking.istio.io/exportTo': '~' }, ['~']],
    [{ 'other/annotation': '.' }, undefined],
  ];
  for (const [annotations, want] of cases) {
    test(JSON.stringify(annotations), () => assert.deepEqual(exportToAnnotation(annotations), want));
  }
});
