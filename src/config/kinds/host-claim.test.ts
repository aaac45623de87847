import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHostClaim, HostClaimSpecSchema } from './host-claim.js';

const check = (spec: unknown): string[] => {
  const parsed = HostClaimSpecSchema.safeParse(spec);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  return checkHostClaim(parsed.data).map((i) => `${i.path.join('.')}: ${i.message}`);
};

test('HostClaim: DNS names, one leading *., or * alone; namespaces are DNS labels', () => {
  assert.deepEqual(check({ hosts: ['shop.example.com', '*.shop.example.com', '*', 'cart'] }), []);
  assert.deepEqual(check({ hosts: ['shop.example.com'], namespaces: ['shop', 'shop-canary'] }), []);
  assert.deepEqual(check({ hosts: [] }), ['hosts: a claim needs at least one host']);
  assert.deepEqual(check({ hosts: ['Shop.example.com', 'a.*.example.com', '*example.com', 'shop.example.com.'] }), [
    'hosts.0: host must be a lowercase DNS name, optionally starting with "*.", or "*"',
    'hosts.1: host must be a lowercase DNS name, optionally starting with "*.", or "*"',
    'hosts.2: host must be a lowercase DNS name, optionally starting with "*.", or "*"',
    'hosts.3: host must be a lowercase DNS name, optionally starting with "*.", or "*"',
  ]);
  assert.deepEqual(check({ hosts: ['a.example.com'], namespaces: ['Shop'] }), [
    'namespaces.0: must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  ]);
  assert.deepEqual(check({ hosts: ['a.example.com'], owner: 'x' }), [': Unrecognized key: "owner"']);
});
