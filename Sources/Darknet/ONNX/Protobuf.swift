/// Protocol Buffers' wire format, the part ONNX files need: varints, 32-bit floats and
/// length-delimited fields (strings, bytes, embedded messages). A message is written field by
/// field into `bytes`; an embedded one is written on its own and then added with its length.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    /// Wire types (the low three bits of a field's key).
    private enum WireType: UInt64 {
        case varint = 0
        case fixed32 = 5
        case lengthDelimited = 2
    }

    private mutating func key(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | type.rawValue)
    }

    /// Seven bits a byte, least significant first, the high bit set on all but the last.
    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// An int32, int64 or enum field: negative values take ten bytes (two's complement, as protobuf's int64).
    mutating func field(_ number: Int, int value: Int) {
        key(number, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func field(_ number: Int, float value: Float) {
        key(number, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func field(_ number: Int, bytes value: some Collection<UInt8>) {
        key(number, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func field(_ number: Int, string value: String) {
        field(number, bytes: Array(value.utf8))
    }

    mutating func field(_ number: Int, message: ProtobufWriter) {
        field(number, bytes: message.bytes)
    }

    /// Floats as little-endian bytes, a length-delimited field (TensorProto's `raw_data`).
    mutating func field(_ number: Int, littleEndianFloats values: [Float]) {
        key(number, .lengthDelimited)
        varint(UInt64(4 * values.count))
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    }
}
