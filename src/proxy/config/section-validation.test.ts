/**
 * A merged delta checked section by section must be accepted exactly when the merged whole is, and come out as
 * the whole parse's result: checked here on generated deltas, valid and broken, against every section and list.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { applyConfigDelta, DELTA_SECTIONS } from '../../push/config-delta.js';
import type { ConfigDelta } from '../../push/config-delta.js';
import { parseAgainstPrevious } from './section-validation.js';
import { externalService, outboundService, proxyConfig, routedTo } from './proxy-config.fixture.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const base: ProxyConfig = ProxyConfigSchema.parse(proxyConfig('v1'));
const json = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

/** Valid values of each section, to be sent as they are or broken. */
const SECTIONS: Record<(typeof DELTA_SECTIONS)[number], unknown[]> = {
  schema: [3, 2],
  proxy: [base.proxy, { ...base.proxy, labels: { app: 'web', version: 'v2' } }, { ...base.proxy, role: 'gateway' }],
  trustDomain: ['cluster.local', 'example.org'],
  inbound: [base.inbound, null, { ...base.inbound, rateLimits: [{ policy: 'shop/limit', total: 10, overrides: [] }] }],
  gateway: [null, { servers: [] }, { servers: [{ port: 8443, name: 'https', protocol: 'HTTPS', virtualHosts: [] }], numTrustedProxies: 1 }],
  security: [base.security, { ...base.security, authorizationPolicies: [] }, { ...base.security, trustDomainAliases: ['old.local'], grpcMaxMessageBytes: 1024 }],
  telemetry: [base.telemetry],
  telemetryPolicy: [base.telemetryPolicy],
};

/** A change to a JSON value: none, or one node replaced, deleted or given an unknown key. */
const mutation = fc.record({
  kind: fc.constantFrom('keep', 'keep', 'replace', 'delete', 'add'),
  at: fc.nat(),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
});
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function nodes(v: Json, path: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(path);
  if (Array.isArray(v)) v.forEach((x, i) => nodes(x, [...path, i], out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) nodes(x, [...path, k], out);
  return out;
}

/** `value` copied, with `m` applied at one of its nodes. */
function mutated(value: unknown, m: Mutation): Json {
  const root = json(value);
  if (m.kind === 'keep') return root;
  const all = nodes(root);
  const path = all[m.at % all.length]!;
  if (path.length === 0) return m.kind === 'replace' ? m.value : m.kind === 'add' && typeof root === 'object' && root !== null && !Array.isArray(root) ? { ...root, surprise: m.value } : root;
  const parent = path.slice(0, -1).reduce<Json>((n, k) => (n as Record<string, Json>)[k]!, root) as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (m.kind === 'replace') parent[last] = m.value;
  else if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) target['surprise'] = m.value;
  }
  return root;
}

const sectionChange = fc.subarray([...DELTA_SECTIONS]).chain((names) =>
  fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), fc.constantFrom(...SECTIONS[name]), mutation))).map((entries) =>
    Object.fromEntries(entries.map(([name, value, m]) => [name, mutated(value, m)])),
  ),
);

const SERVICE_VARIANTS = [(name: string) => outboundService(name, [80, 9090]), (name: string) => outboundService(name, [], { addresses: ['10.96.0.9'] }), () => routedTo('gone')];
const hostOf = (name: string) => `${name}.shop.svc.cluster.local`;

/** Services changed, added and removed, or the whole list; the order whenever the keys change. */
const servicesChange = fc
  .record({
    changed: fc.subarray(['web', 'cart', 'ratings']),
    added: fc.subarray(['reviews', 'details']),
    removed: fc.subarray(['web', 'cart', 'ratings']),
    variant: fc.nat(),
    mutations: fc.array(mutation, { minLength: 5, maxLength: 5 }),
    all: fc.boolean(),
  })
  .map(({ changed, added, removed, variant, mutations, all }) => {
    const items = [...changed.filter((n) => !removed.includes(n)), ...added].map((n, i) =>
      mutated(SERVICE_VARIANTS[(variant + i) % SERVICE_VARIANTS.length]!(n), mutations[i % mutations.length]!),
    );
    if (all) return { all: items };
    const order = [...base.outbound.services.map((s) => s.host).filter((h) => !removed.some((n) => hostOf(n) === h)), ...added.map(hostOf)];
    return { set: items, ...(removed.length > 0 && { remove: removed.map(hostOf) }), ...((removed.length > 0 || added.length > 0) && { order }) };
  });

const externalsChange = fc.tuple(fc.subarray(['api', 'cdn', 'mail']), mutation).map(([names, m]) => ({ all: names.map((n) => mutated(externalService(n), m)) }));

const outboundChange = fc.record(
  {
    trafficPolicy: fc.constantFrom('ALLOW_ANY', 'REGISTRY_ONLY', 'SOMETIMES'),
    externalRoutes: fc.tuple(fc.constantFrom(null, base.outbound.externalRoutes, []), mutation).map(([v, m]) => (v === null ? null : mutated(v, m))),
    egressGatewayHosts: fc.constantFrom(null, ['cdn.example.com'], [7]),
    services: servicesChange,
    externals: externalsChange,
  },
  { requiredKeys: [] },
);

/** A delta as it comes off the wire: its own objects (JSON), never the base's. */
const deltas = fc.record({ sections: sectionChange, outbound: outboundChange }, { requiredKeys: [] }).map((d) => json({ type: 'config-delta', base: 'v1', version: 'v2', ...d }) as unknown as ConfigDelta);

function merge(delta: ConfigDelta): Record<string, unknown> | undefined {
  try {
    return applyConfigDelta(base, delta);
  } catch {
    return undefined; // Not mergeable: NACKed before any check.
  }
}

describe('parseAgainstPrevious', () => {
  test('accepts exactly the merged configs a whole parse accepts, with the same result', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(deltas, (delta) => {
        const merged = merge(delta);
        if (merged === undefined) return;
        const whole = ProxyConfigSchema.safeParse(merged);
        const sectionwise = parseAgainstPrevious(merged, base);
        assert.equal(sectionwise !== undefined, whole.success, whole.success ? 'refused a valid config' : `accepted an invalid one: ${whole.error.issues[0]?.path.join('.')}`);
        if (whole.success) {
          accepted++;
          assert.deepStrictEqual(sectionwise, whole.data);
        } else refused++;
      }),
      { numRuns: 2000 },
    );
    // Both outcomes must have been tried for the property to say anything.
    assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
  });

  test('a merged config that is the previous one is taken as it is, sections and items', () => {
    const merged = applyConfigDelta(base, { type: 'config-delta', base: 'v1', version: 'v2', outbound: { services: { set: [json(outboundService('web', [81]))] } } });
    const parsed = parseAgainstPrevious(merged, base)!;
    assert.equal(parsed.security, base.security);
    assert.equal(parsed.outbound.externals, base.outbound.externals);
    assert.equal(parsed.outbound.services[1], base.outbound.services[1]);
    assert.notEqual(parsed.outbound.services[0], merged['outbound'] && (merged['outbound'] as ProxyConfig['outbound']).services[0], 'a new item is the parse output');
    assert.deepEqual(parsed.outbound.services[0]?.ports.map((p) => p.port), [81]);
  });

  test('a root or outbound key the schema does not know is refused, as the whole parse does', () => {
    assert.equal(parseAgainstPrevious({ ...base, version: 'v2', surprise: 1 }, base), undefined);
    assert.equal(parseAgainstPrevious({ ...base, version: 'v2', outbound: { ...base.outbound, surprise: 1 } }, base), undefined);
    assert.equal(parseAgainstPrevious({ ...base, version: '' }, base), undefined);
    assert.equal(parseAgainstPrevious(null, base), undefined);
    assert.equal(parseAgainstPrevious([], base), undefined);
  });
});
