/**
 * WEFT0104: a PeerAuthentication that opens a plaintext hole, letting a port accept plaintext (DISABLE or
 * PERMISSIVE) where the wider policy, the namespace's or the mesh's, requires mTLS (STRICT).
 */
import type { PeerAuthenticationSpec } from '../config/kinds/peer-authentication.js';
import { effectivePeerAuthn, modeForPort } from '../control/compile/peer-authentication.js';
import type { Check } from './context.js';
import type { Finding } from './finding.js';

const acceptsPlaintext = (mode: string | undefined): boolean => mode === 'DISABLE' || mode === 'PERMISSIVE';

export const checkPlaintextPorts: Check = (ctx) => {
  const out: Finding[] = [];
  const all = ctx.snapshot.peerAuthentications;
  for (const pa of ctx.of<PeerAuthenticationSpec>('PeerAuthentication')) {
    const selector = pa.spec.selector?.matchLabels;
    const selected = selector !== undefined && Object.keys(selector).length > 0;
    // The mesh-wide policy is the baseline every exception is measured against, not an exception itself.
    if (pa.namespace === ctx.rootNamespace && !selected) continue;
    const others = all.filter((p) => !(p.namespace === pa.namespace && p.name === pa.name));
    const workloads = ctx.snapshot.registry.workloads.filter((w) =>
      w.namespace === pa.namespace && (!selected || Object.entries(selector).every(([k, v]) => w.labels[k] === v)));
    const holes: string[] = [];
    let path: (string | number)[] = ['spec', 'mtls', 'mode'];
    for (const w of workloads) {
      const wider = effectivePeerAuthn(others, ctx.rootNamespace, w);
      const mine = effectivePeerAuthn(all, ctx.rootNamespace, w);
      for (const port of w.ports.map((p) => p.containerPort)) {
        const now = modeForPort(mine, port);
        if (!acceptsPlaintext(now) || modeForPort(wider, port) !== 'STRICT') continue;
        holes.push(`${w.namespace}/${w.name}:${port} (${now})`);
        if (pa.spec.portLevelMtls?.[String(port)] !== undefined) path = ['spec', 'portLevelMtls', String(port), 'mode'];
      }
    }
    if (holes.length === 0) continue;
    out.push(ctx.finding(pa.entry, {
      code: 'WEFT0104', severity: 'warning', path,
      message: `leaves ${holes.join(', ')} accepting plaintext where the wider policy requires STRICT mTLS`,
      fix: 'remove the exception, or narrow it to the one port that must accept plaintext (portLevelMtls) and say why in an annotation',
    }));
  }
  return out;
};
