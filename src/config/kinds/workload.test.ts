import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../../errors.js';
import type { ConfigIssue } from '../issues.js';
import { validateDocument } from '../validate.js';
import type { WorkloadSpec } from './workload.js';

function workload(securityContext: unknown): unknown {
  return { apiVersion: 'weft.dev/v1alpha1', kind: 'Workload', metadata: { name: 'app' }, spec: { command: ['node', 'app.js'], securityContext } };
}

/** The "field: message" pairs a Workload is rejected with, or [] with the securityContext it validated to. */
function check(securityContext: unknown): string[] {
  try {
    validateDocument(workload(securityContext), 'w.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err), String(err));
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map((i) => `${i.field}: ${i.message}`);
  }
}

describe('Workload securityContext', () => {
  test('Kubernetes’ runAsUser, runAsGroup and runAsNonRoot, checked with field names', () => {
    const cases: [string, unknown, RegExp[]][] = [
      ['absent', undefined, []],
      ['a non-root user and group', { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true }, []],
      ['root written explicitly', { runAsUser: 0 }, []],
      ['root group with a non-root user', { runAsUser: 1000, runAsGroup: 0 }, []],
      ['the sidecar’s uid', { runAsUser: 1337 }, [/^spec\.securityContext\.runAsUser: 1337 is the sidecar's uid/]],
      ['the sidecar’s gid', { runAsGroup: 1337 }, [/^spec\.securityContext\.runAsGroup: 1337 is the sidecar's gid/]],
      ['runAsNonRoot with root', { runAsUser: 0, runAsNonRoot: true }, [/^spec\.securityContext\.runAsNonRoot: runAsNonRoot is true but runAsUser is 0/]],
      ['a group beside root', { runAsUser: 0, runAsGroup: 5 }, [/^spec\.securityContext\.runAsGroup: runAsGroup has no effect when runAsUser is 0/]],
      ['negative', { runAsUser: -1 }, [/^spec\.securityContext\.runAsUser: /]],
      ['fractional', { runAsGroup: 1.5 }, [/^spec\.securityContext\.runAsGroup: /]],
      ['(uid_t)-1', { runAsUser: 4294967295 }, [/^spec\.securityContext\.runAsUser: /]],
      ['a string', { runAsUser: '1000' }, [/^spec\.securityContext\.runAsUser: /]],
      ['runAsNonRoot not a boolean', { runAsNonRoot: 'yes' }, [/^spec\.securityContext\.runAsNonRoot: /]],
      ['an unknown field', { privileged: true }, [/^spec\.securityContext\.privileged: unknown field/]],
    ];
    for (const [name, sc, want] of cases) {
      const got = check(sc);
      assert.equal(got.length, want.length, `${name}: ${got.join('; ')}`);
      want.forEach((re, i) => assert.match(got[i] ?? '', re, name));
    }
  });

  test('a valid securityContext is kept as written', () => {
    const r = validateDocument(workload({ runAsUser: 1000, runAsNonRoot: true }), 'w.yaml');
    assert.deepEqual((r.spec as WorkloadSpec).securityContext, { runAsUser: 1000, runAsNonRoot: true });
  });
});
