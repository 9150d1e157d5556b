/**
 * Just enough of protobuf's wire format to walk a serialized message (an ONNX model, say): each field's number,
 * wire type and value (a varint as a Number, a length-delimited field as a view of its bytes).
 */
export type ProtobufField = { no: number; wire: number; value: number | Uint8Array };

/** The fields of one message, in order. Throws RangeError on bytes that are not one. */
export function* protobufFields(bytes: Uint8Array): Generator<ProtobufField> {
  let at = 0;
  while (at < bytes.length) {
    let key: number;
    [key, at] = protobufVarint(bytes, at);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      let v: number;
      [v, at] = protobufVarint(bytes, at);
      yield { no, wire, value: v };
    } else if (wire === 2) {
      let len: number;
      [len, at] = protobufVarint(bytes, at);
      if (at + len > bytes.length) throw new RangeError(`protobuf field ${no}: ${len} bytes past the end`);
      yield { no, wire, value: bytes.subarray(at, at + len) };
      at += len;
    } else if (wire === 1) {
      at += 8;
    } else if (wire === 5) {
      at += 4;
    } else {
      throw new RangeError(`protobuf field ${no}: wire type ${wire} is not one ONNX uses`);
    }
  }
}

/** A varint as a Number: exact to 2^53, enough for lengths and the int64 class labels exporters write. */
export function protobufVarint(bytes: Uint8Array, at: number): [number, number] {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= bytes.length) throw new RangeError('protobuf varint past the end');
    const b = bytes[at++]!;
    v += (b & 0x7f) * scale;
    if (b < 0x80) return [v >= 2 ** 63 ? v - 2 ** 64 : v, at];
    scale *= 128;
  }
  throw new RangeError('protobuf varint longer than 10 bytes');
}
