/**
 * An HTTP external authorizer with the behaviour of Istio's samples/extauthz: a request carrying
 * `x-ext-authz: allow` is allowed (200), anything else is denied (403) with a body saying why. Both answers carry
 * `x-ext-authz-check-result`, which MeshConfig can forward upstream or downstream.
 */
import { sendText, servePod } from '../pod-server.js';

const ALLOW_HEADER = 'x-ext-authz';
const ALLOW_VALUE = 'allow';

await servePod(
  (req, res) => {
    const allowed = req.headers[ALLOW_HEADER] === ALLOW_VALUE;
    res.setHeader('x-ext-authz-check-result', allowed ? 'allowed' : 'denied');
    res.setHeader('x-ext-authz-check-received', `${req.method ?? ''} ${req.headers.host ?? ''}${req.url ?? ''}`);
    if (allowed) sendText(res, 200, '');
    else sendText(res, 403, `denied by ext_authz for not found header \`${ALLOW_HEADER}: ${ALLOW_VALUE}\` in the request\n`);
  },
  { app: 'ext-authz', defaultPort: 8000 },
);
