/** Workload identity in weft: SPIFFE IDs, the CA that issues X.509-SVIDs, and single-use bootstrap tokens. */
export {
  MAX_SPIFFE_ID_BYTES,
  formatSpiffeId,
  parseSpiffeId,
  parseWorkloadIdentity,
  validatePathSegment,
  validateTrustDomain,
  workloadSpiffeId,
} from './spiffe-id.js';
export type { SpiffeId, WorkloadIdentity } from './spiffe-id.js';
export { createCsr, generateWorkloadKey } from './workload-key.js';
export type { WorkloadKey } from './workload-key.js';
export { CertificateAuthority, SVID_BACKDATE_MS } from './ca.js';
export type { CaOptions, IssuedSvid } from './ca.js';
export { certificateSha256Hex, spiffeIdFromCertificate, svidSummary, verifySvidChain } from './svid.js';
export type { CertificateInput, SvidSummary } from './svid.js';
export { BootstrapTokens, MemoryTokenStore } from './bootstrap-token.js';
export type { TokenBinding, TokenRecord, TokenStore } from './bootstrap-token.js';
export { splitPemCertificates } from './pem.js';
