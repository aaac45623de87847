/**
 * Envoy's mapping of a gRPC status to the HTTP status that outlier detection counts (Grpc::Utility::grpcToHttpStatus),
 * so a gRPC UNAVAILABLE counts as a 503, a gateway error, and DEADLINE_EXCEEDED as a 504.
 */
const GRPC_TO_HTTP: readonly number[] = [
  200, // 0 OK
  499, // 1 CANCELLED
  500, // 2 UNKNOWN
  400, // 3 INVALID_ARGUMENT
  504, // 4 DEADLINE_EXCEEDED
  404, // 5 NOT_FOUND
  409, // 6 ALREADY_EXISTS
  403, // 7 PERMISSION_DENIED
  429, // 8 RESOURCE_EXHAUSTED
  400, // 9 FAILED_PRECONDITION
  409, // 10 ABORTED
  400, // 11 OUT_OF_RANGE
  501, // 12 UNIMPLEMENTED
  500, // 13 INTERNAL
  503, // 14 UNAVAILABLE
  500, // 15 DATA_LOSS
  401, // 16 UNAUTHENTICATED
];

export function grpcStatusToHttp(grpcStatus: number): number {
  return GRPC_TO_HTTP[grpcStatus] ?? 500;
}
