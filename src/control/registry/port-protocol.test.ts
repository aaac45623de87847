import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PortProtocol } from '../../proxyconfig/types.js';
import { portProtocol } from './port-protocol.js';

/*
 * Istio's protocol selection (istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection):
 * `appProtocol` first, else the port name `<protocol>[-<suffix>]`; protocols http, http2, https, tcp, tls, grpc,
 * grpc-web, mongo, mysql, redis, and `kubernetes.io/h2c` for HTTP/2 cleartext. Where Istio would sniff an unnamed
 * port, weft's loopback mode assumes HTTP.
 */
const protocolRows: Array<[name: string | undefined, appProtocol: string | undefined, want: PortProtocol]> = [
  ['http', undefined, 'http'],
  ['http-web', undefined, 'http'],
  ['HTTP-Web', undefined, 'http'],
  ['http2', undefined, 'http2'],
  ['http2-api', undefined, 'http2'],
  ['grpc', undefined, 'grpc'],
  ['grpc-web', undefined, 'grpc'],
  ['tcp-db', undefined, 'tcp'],
  ['mongo', undefined, 'tcp'],
  ['mysql-primary', undefined, 'tcp'],
  ['redis', undefined, 'tcp'],
  ['https', undefined, 'tls'],
  ['tls-passthrough', undefined, 'tls'],
  ['web', undefined, 'http'],
  ['httpbin', undefined, 'http'],
  [undefined, undefined, 'http'],
  ['', undefined, 'http'],
  ['http-web', 'tcp', 'tcp'],
  ['tcp-db', 'http', 'http'],
  ['web', 'kubernetes.io/h2c', 'http2'],
  ['web', 'GRPC', 'grpc'],
  ['tcp-x', 'unknown-proto', 'tcp'],
];

describe('portProtocol: Istio protocol selection', () => {
  for (const [name, app, want] of protocolRows) {
    test(`name=${String(name)} appProtocol=${String(app)} → ${want}`, () => assert.equal(portProtocol(name, app), want));
  }
});
