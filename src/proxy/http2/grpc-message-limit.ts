/**
 * gRPC's message size limit, read from the stream as it passes (no copy, no buffering): every gRPC message is a
 * 5-byte prefix (a compressed flag, then the payload length as a 32-bit big-endian integer) and its payload
 * (gRPC's PROTOCOL-HTTP2, "Length-Prefixed-Message"). The parser keeps three numbers across DATA frames, so a
 * prefix split anywhere between frames is read the same, and it judges a message by its prefix alone: a length over
 * the limit is refused before a byte of its payload is held, whatever the sender then sends (a lying prefix costs
 * nothing). Written by hand because it is twelve lines over a Buffer the proxy already has, and a gRPC codec library
 * would want whole messages.
 *
 * The same pass counts the messages (Istio's istio_request_messages_total and istio_response_messages_total): a
 * message counts once its prefix is read and its length is within the limit, so a refused message, which never
 * reaches the receiver, is not counted. A zero-length message counts too.
 *
 * The limit is gRPC's own default for a receiver, 4 MiB (grpc-go's and grpc-js's max receive message length),
 * unless the mesh sets `grpcMaxMessageBytes` (docs/traffic.md).
 */

/** gRPC's default maximum receive message size. */
export const GRPC_MAX_MESSAGE_BYTES_DEFAULT = 4 * 1024 * 1024;

const PREFIX_BYTES = 5;

export class GrpcMessageLimit {
  /** Payload bytes of the current message still to pass. */
  private payloadLeft = 0;
  /** Prefix bytes read of the next message (0 to 4). */
  private prefixRead = 0;
  /** The length being read from the prefix. */
  private length = 0;
  /** The declared length of the message that broke the limit; -1 while none has. */
  oversize = -1;
  /** Messages whose prefix has passed within the limit. */
  messages = 0;

  constructor(readonly limit: number) {}

  /**
   * Reads one chunk of the stream. Returns -1 when every message it starts fits; else the offset in `chunk` at which
   * the refused message's prefix began (0 when it began in an earlier chunk), so what precedes it can still pass.
   * After a refusal the parser reads nothing more.
   */
  feed(chunk: Uint8Array): number {
    if (this.oversize >= 0) return 0;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, n - i);
        this.payloadLeft -= take;
        i += take;
        continue;
      }
      // The flag byte is not judged here: the receiver owns gRPC's framing errors.
      if (this.prefixRead === 0) this.length = 0;
      else this.length = this.length * 256 + chunk[i]!;
      i++;
      if (++this.prefixRead < PREFIX_BYTES) continue;
      this.prefixRead = 0;
      if (this.length > this.limit) {
        this.oversize = this.length;
        return Math.max(0, i - PREFIX_BYTES);
      }
      this.payloadLeft = this.length;
      this.messages++;
    }
    return -1;
  }
}
