import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWeftError } from '../errors.js';
import { authKind, formatCredentials } from './auth.js';

test('can-i kinds: resource kinds by any CLI name, API object kinds by name or plural, any case', () => {
  const cases: [string, string][] = [
    ['ap', 'AuthorizationPolicy'],
    ['VirtualServices', 'VirtualService'],
    ['auditrecords', 'AuditRecord'],
    ['Credential', 'Credential'],
    ['proxystatus', 'ProxyStatus'],
    ['bootstraptokens', 'BootstrapToken'],
  ];
  for (const [cli, kind] of cases) assert.equal(authKind(cli), kind, cli);
  assert.throws(() => authKind('configmaps'), (e) => isWeftError(e, 'CONFIG_UNKNOWN_KIND') && e.message === 'the server doesn\'t have a resource type "configmaps"');
});

test('auth list: roles grouped with their namespaces, expiry, and state at the given time', () => {
  const now = Date.parse('2026-01-02T00:00:00Z');
  const text = formatCredentials(
    [
      { name: 'admin', bindings: [{ role: 'mesh-admin', namespace: '*' }], createdAt: '2026-01-01T00:00:00.000Z', expiresAt: undefined, revokedAt: undefined },
      {
        name: 'ci',
        bindings: [{ role: 'editor', namespace: 'shop' }, { role: 'editor', namespace: 'cart' }],
        createdAt: '2026-01-01T00:00:00.000Z',
        expiresAt: '2026-01-01T12:00:00.000Z',
        revokedAt: undefined,
      },
      { name: 'old', bindings: [{ role: 'viewer', namespace: '*' }], createdAt: '2026-01-01T00:00:00.000Z', expiresAt: undefined, revokedAt: '2026-01-01T01:00:00.000Z' },
    ],
    now,
  );
  assert.equal(
    text,
    [
      'NAME    ROLES               CREATED                    EXPIRES                    STATUS',
      'admin   mesh-admin(*)       2026-01-01T00:00:00.000Z   never                      active',
      'ci      editor(shop,cart)   2026-01-01T00:00:00.000Z   2026-01-01T12:00:00.000Z   expired',
      'old     viewer(*)           2026-01-01T00:00:00.000Z   never                      revoked',
      '',
    ].join('\n'),
  );
});
