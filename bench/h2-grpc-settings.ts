/**
 * The HTTP/2 and gRPC scenario's settings. Full: the data plane's concurrency (32 connections, 10 streams each) for
 * the closed-loop runs. Smoke: a few hundred requests a run, for test/bench-h2-grpc-smoke.test.ts.
 */
import type { H2GrpcOptions } from './h2-grpc.js';

export type H2GrpcSettings = Omit<H2GrpcOptions, 'workDir' | 'log'>;

export const H2GRPC_SETTINGS: Record<'full' | 'smoke', H2GrpcSettings> = {
  full: { seconds: 15, warmupSeconds: 3, connections: 32, streams: 10, grpcRate: 1000, rateConnections: 4, rateStreams: 32, messageBytes: 100, profileSeconds: 10 },
  smoke: { seconds: 0, requests: 300, warmupSeconds: 0, connections: 4, streams: 10, grpcRate: 300, rateConnections: 2, rateStreams: 16, messageBytes: 100, profileSeconds: 0 },
};
