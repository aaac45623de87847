import { formatTable } from './text-table.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { StoredResource } from '../control/store/types.js';
import { isWeftError } from '../errors.js';
import {
  formatResourceDocument,
  formatResourceTable,
  humanAge,
  noResourcesMessage,
  parseOutputFormat,
  resolveKind,
} from './get.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

test('AGE reads like kubectl', () => {
  const cases: [ms: number, age: string][] = [
    [-5 * S, '<invalid>'],
    [-500, '0s'],
    [0, '0s'],
    [59 * S, '59s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [5 * M + 3 * S, '5m3s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 20 * M, '3h20m'],
    [8 * H + 5 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [3 * D + 4 * H, '3d4h'],
    [8 * D + 4 * H, '8d'],
    [729 * D, '729d'],
    [3 * 365 * D + 10 * D, '3y10d'],
    [9 * 365 * D + 10 * D, '9y'],
  ];
  for (const [ms, age] of cases) assert.equal(humanAge(ms), age, `${ms}ms`);
});

test('tables pad every column but the last by three, at least six wide', () => {
  assert.equal(formatTable(['NAME', 'AGE'], [['a', '5s'], ['longer-name', '10m']]), 'NAME          AGE\na             5s\nlonger-name   10m\n');
  assert.equal(formatTable(['NAME', 'X', 'AGE'], [['a', '', '1s']]), 'NAME   X     AGE\na            1s\n');
});

const created = '2026-01-01T00:00:00.000Z';
const now = Date.parse(created) + 90 * S;

function stored(kind: string, name: string, spec: unknown, status?: unknown, namespace = 'default'): StoredResource {
  const r: StoredResource = {
    apiVersion: 'x/v1',
    kind,
    metadata: { name, namespace, labels: {}, annotations: {}, resourceVersion: '1', creationTimestamp: created },
    spec,
  };
  if (status !== undefined) r.status = status;
  return r;
}

test('each kind prints its own columns, NAMESPACE with -A and more with -o wide', () => {
  const cases: { name: string; resources: StoredResource[]; all?: boolean; wide?: boolean; lines: string[] }[] = [
    {
      name: 'workloads',
      resources: [
        stored('Workload', 'reviews-v1', { serviceAccount: 'bookinfo-reviews', ports: [{ containerPort: 9080, protocol: 'TCP' }] }, { phase: 'Running', podIP: '10.88.0.4', restarts: 2 }),
        stored('Workload', 'ratings-v1', { serviceAccount: 'bookinfo-ratings', ports: [] }),
      ],
      lines: ['NAME         STATUS    RESTARTS   POD-IP      AGE', 'reviews-v1   Running   2          10.88.0.4   90s', 'ratings-v1   Pending   0          <none>      90s'],
    },
    {
      name: 'workloads wide',
      wide: true,
      resources: [stored('Workload', 'reviews-v1', { serviceAccount: 'bookinfo-reviews', ports: [{ containerPort: 9080, protocol: 'TCP' }] }, { phase: 'Running', podIP: '10.88.0.4' })],
      lines: [
        'NAME         STATUS    RESTARTS   POD-IP      AGE   SERVICE-ACCOUNT    PORTS',
        'reviews-v1   Running   0          10.88.0.4   90s   bookinfo-reviews   9080/TCP',
      ],
    },
    {
      name: 'virtual services across namespaces',
      all: true,
      resources: [
        stored('VirtualService', 'bookinfo', { hosts: ['*'], gateways: ['bookinfo-gateway'] }),
        stored('VirtualService', 'reviews', { hosts: ['reviews'] }, undefined, 'prod'),
      ],
      lines: [
        'NAMESPACE   NAME       GATEWAYS               HOSTS         AGE',
        'default     bookinfo   ["bookinfo-gateway"]   ["*"]         90s',
        'prod        reviews                           ["reviews"]   90s',
      ],
    },
    {
      name: 'peer authentication',
      resources: [stored('PeerAuthentication', 'default', { mtls: { mode: 'STRICT' } })],
      lines: ['NAME      MODE     AGE', 'default   STRICT   90s'],
    },
    {
      name: 'services, wide',
      wide: true,
      resources: [stored('Service', 'details', { selector: { app: 'details' }, ports: [{ port: 9080, protocol: 'TCP', name: 'http' }] })],
      lines: ['NAME      TYPE        PORTS      AGE   SELECTOR', 'details   ClusterIP   9080/TCP   90s   app=details'],
    },
    {
      name: 'a kind without extra columns',
      resources: [stored('Gateway', 'bookinfo-gateway', {})],
      lines: ['NAME               AGE', 'bookinfo-gateway   90s'],
    },
  ];
  for (const c of cases) {
    const kind = c.resources[0]?.kind ?? '';
    const out = formatResourceTable(c.resources, { kind, allNamespaces: c.all === true, wide: c.wide === true, now });
    assert.deepEqual(out.split('\n').slice(0, -1), c.lines, c.name);
  }
});

test('-o json and -o yaml print one object as itself and several as a List', () => {
  const one = stored('Service', 'details', { ports: [] });
  assert.deepEqual(JSON.parse(formatResourceDocument(one, 'json')), one);
  assert.deepEqual(parseYaml(formatResourceDocument(one, 'yaml')), one);
  const list = parseYaml(formatResourceDocument([one, one], 'yaml')) as { kind: string; items: unknown[] };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 2);
  assert.match(formatResourceDocument([], 'json'), /"items": \[\]/);
});

test('output formats, kind names and the empty-list message', () => {
  assert.equal(parseOutputFormat(undefined), 'table');
  for (const f of ['wide', 'json', 'yaml'] as const) assert.equal(parseOutputFormat(f), f);
  assert.throws(() => parseOutputFormat('xml'), /allowed formats are: json,wide,yaml/);
  assert.equal(resolveKind('vs').kind, 'VirtualService');
  assert.equal(resolveKind('Workloads').kind, 'Workload');
  assert.throws(
    () => resolveKind('pods'),
    (err) => isWeftError(err) && err.message === `the server doesn't have a resource type "pods"`,
  );
  assert.equal(noResourcesMessage('default'), 'No resources found in default namespace.');
  assert.equal(noResourcesMessage(undefined), 'No resources found');
});
