/**
 * `weft analyze` and admission: every check family run over one set of resources, findings sorted errors first.
 * Each family lives in its own module and is a pure function of the analysis context.
 */
import { resourceKeyString } from '../config/resource.js';
import { AnalysisContext } from './context.js';
import type { AnalyzedResource, Check } from './context.js';
import { compareFindings } from './finding.js';
import type { Finding } from './finding.js';
import { checkAnnotations } from './annotations.js';
import { checkAuthorizationReferences } from './authorization-references.js';
import { checkAuthorizationRules, checkL7FieldsOnTcp } from './authorization-rules.js';
import { checkDestinationRuleMtls, checkDestinationRuleReferences, checkServerCertificateVerification } from './destination-rules.js';
import { checkServiceEntryWildcards, checkSidecarEgressHosts } from './egress.js';
import { checkConflictingGateways, checkGatewayWorkloads } from './gateways.js';
import { checkGatewayCredentials } from './gateway-credentials.js';
import { checkEgressGatewayServicePorts } from './egress-gateway-ports.js';
import { checkHostClaims } from './host-claims.js';
import { checkPlaintextPorts } from './peer-authentication.js';
import { checkServicePortNames } from './service-ports.js';
import { checkTelemetryReferences } from './telemetry-providers.js';
import { checkUnappliedTrafficPolicy } from './unapplied-traffic-policy.js';
import { checkUnappliedRoutes } from './unapplied-routes.js';
import { checkUnappliedGateway } from './unapplied-gateway.js';
import { checkUnappliedSidecar } from './unapplied-sidecar.js';
import { checkUnappliedServiceEntry } from './unapplied-service-entry.js';
import { checkUnappliedMeshConfig } from './unapplied-mesh-config.js';
import { checkUnappliedGatewayApi } from './unapplied-gateway-api.js';
import { checkUnappliedService } from './unapplied-service.js';
import { checkMeshGatewayHostConflicts, checkUnreachableRules, checkVirtualServiceReferences } from './virtual-services.js';

export type { AnalyzedResource } from './context.js';
export type { Finding, Severity } from './finding.js';
export { formatFinding } from './finding.js';
export { schemaFindings } from './schema.js';

const CHECKS: readonly Check[] = [
  checkVirtualServiceReferences,
  checkMeshGatewayHostConflicts,
  checkUnreachableRules,
  checkGatewayWorkloads,
  checkConflictingGateways,
  checkEgressGatewayServicePorts,
  checkGatewayCredentials,
  checkAnnotations,
  checkServicePortNames,
  checkDestinationRuleReferences,
  checkDestinationRuleMtls,
  checkServerCertificateVerification,
  checkUnappliedTrafficPolicy,
  checkUnappliedRoutes,
  checkUnappliedGateway,
  checkUnappliedSidecar,
  checkUnappliedServiceEntry,
  checkUnappliedMeshConfig,
  checkUnappliedGatewayApi,
  checkUnappliedService,
  checkAuthorizationReferences,
  checkAuthorizationRules,
  checkL7FieldsOnTcp,
  checkPlaintextPorts,
  checkServiceEntryWildcards,
  checkSidecarEgressHosts,
  checkHostClaims,
  checkTelemetryReferences,
];

export interface AnalyzeOptions {
  /** The mesh's root namespace when no MeshConfig among the resources names one. */
  rootNamespace?: string;
  /** Keys (`kind/namespace/name`) of the only objects whose findings are wanted: admission's batch. */
  subjects?: ReadonlySet<string>;
}

export function analyzeResources(items: readonly AnalyzedResource[], options: AnalyzeOptions = {}): Finding[] {
  const ctx = new AnalysisContext(items, options);
  // Checks that loop over the objects they report on skip the others (AnalysisContext.subjectsOf); the rest report
  // on every object, so the findings are narrowed here too.
  const { subjects } = options;
  const findings = CHECKS.flatMap((check) => check(ctx));
  return (subjects === undefined ? findings : findings.filter((f) => f.object !== undefined && subjects.has(resourceKeyString(f.object)))).sort(compareFindings);
}
