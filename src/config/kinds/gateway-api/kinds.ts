/** The Gateway API kinds in weft's kind registry: their versions, CLI names (kubectl's), schemas and checks. */
import type { z } from 'zod';
import type { KindInfo } from '../index.js';
import type { SpecIssue } from '../spec-issue.js';
import { GatewayClassSpecSchema, KubernetesGatewaySpecSchema, ReferenceGrantSpecSchema, checkKubernetesGateway } from './gateway.js';
import { GrpcRouteSpecSchema, TcpRouteSpecSchema, TlsRouteSpecSchema, checkGrpcRoute, checkL4Route } from './grpc-route.js';
import { HttpRouteSpecSchema, checkHttpRoute } from './http-route.js';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
const V1 = `${GATEWAY_API_GROUP}/v1`;

function entry<S extends z.ZodType>(info: {
  apiVersion: string;
  kind: string;
  documentKind?: string;
  namespaced?: boolean;
  names: string[];
  specSchema: S;
  validate?: (spec: z.output<S>) => SpecIssue[];
}): KindInfo {
  return { namespaced: true, nameRule: 'dns1123-subdomain', ...info } as KindInfo;
}

export const GATEWAY_API_KINDS: readonly KindInfo[] = [
  entry({ apiVersion: V1, kind: 'GatewayClass', namespaced: false, names: ['gatewayclass', 'gatewayclasses', 'gc'], specSchema: GatewayClassSpecSchema }),
  entry({
    apiVersion: V1,
    kind: 'KubernetesGateway',
    documentKind: 'Gateway',
    names: ['kubernetesgateway', 'gateways.gateway.networking.k8s.io', 'gateway.gateway.networking.k8s.io', 'gtw'],
    specSchema: KubernetesGatewaySpecSchema,
    validate: checkKubernetesGateway,
  }),
  entry({ apiVersion: V1, kind: 'HTTPRoute', names: ['httproute', 'httproutes'], specSchema: HttpRouteSpecSchema, validate: checkHttpRoute }),
  entry({ apiVersion: V1, kind: 'GRPCRoute', names: ['grpcroute', 'grpcroutes'], specSchema: GrpcRouteSpecSchema, validate: checkGrpcRoute }),
  entry({ apiVersion: `${GATEWAY_API_GROUP}/v1alpha2`, kind: 'TLSRoute', names: ['tlsroute', 'tlsroutes'], specSchema: TlsRouteSpecSchema, validate: checkL4Route }),
  entry({ apiVersion: `${GATEWAY_API_GROUP}/v1alpha2`, kind: 'TCPRoute', names: ['tcproute', 'tcproutes'], specSchema: TcpRouteSpecSchema, validate: checkL4Route }),
  entry({ apiVersion: `${GATEWAY_API_GROUP}/v1beta1`, kind: 'ReferenceGrant', names: ['referencegrant', 'referencegrants', 'refgrant'], specSchema: ReferenceGrantSpecSchema }),
];
