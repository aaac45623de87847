import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectChain } from './gateway-chains.js';

const chain = (name: string, ...sniHosts: string[]): { name: string; raw: { sniHosts: string[] } } => ({ name, raw: { sniHosts } });

test("the chain for a server name, as Envoy's filter chain match chooses it", () => {
  const chains = [chain('any', '*'), chain('wild', '*.example.com'), chain('deep', '*.api.example.com'), chain('exact', 'a.example.com'), chain('b', 'b.example.com')];
  const rows: Array<[sni: string | undefined, want: string | undefined]> = [
    ['a.example.com', 'exact'],
    ['b.example.com', 'b'],
    ['c.example.com', 'wild'],
    ['x.api.example.com', 'deep'],
    ['example.com', 'any'],
    ['other.org', 'any'],
    [undefined, 'any'],
  ];
  for (const [sni, want] of rows) assert.equal(selectChain(chains, sni)?.name, want, String(sni));
  const named = [chain('exact', 'a.example.com'), chain('wild', '*.example.com')];
  // No `*` server: an unknown name and a hello without a name find no chain (the connection is closed).
  assert.equal(selectChain(named, 'other.org'), undefined);
  assert.equal(selectChain(named, undefined), undefined);
  assert.equal(selectChain(named, 'example.com'), undefined);
});
