/**
 * gRPC's length-prefixed message framing (one byte compressed flag, four bytes big-endian length, the message),
 * enough for an echo service whose messages are UTF-8 text rather than protobuf.
 */
export function grpcFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** The messages in a complete buffer of frames; undefined when it is cut short or compressed. */
export function grpcMessages(buf: Buffer): string[] | undefined {
  const out: string[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 5 || buf.readUInt8(at) !== 0) return undefined;
    const length = buf.readUInt32BE(at + 1);
    if (buf.length - at - 5 < length) return undefined;
    out.push(buf.subarray(at + 5, at + 5 + length).toString('utf8'));
    at += 5 + length;
  }
  return out;
}
