/// The header of a Darknet `.weights` file: `int32 major, minor, revision`, then `seen`
/// (images trained on) as an int64 when `major·10 + minor ≥ 2` and both are below 1000, else
/// as an int32 — the rule of Darknet's `load_weights_upto`. All little-endian.
public struct WeightsHeader: Sendable, Equatable, CustomStringConvertible {
    public var major: Int32
    public var minor: Int32
    public var revision: Int32
    public var seen: UInt64

    /// What Darknet's `save_weights` writes: version 0.2.0.
    public init(major: Int32 = 0, minor: Int32 = 2, revision: Int32 = 0, seen: UInt64 = 0) {
        self.major = major
        self.minor = minor
        self.revision = revision
        self.seen = seen
    }

    /// Versions outside this range are not Darknet's (it writes 0.1 and 0.2; converters flag
    /// transposed connected weights with 1000+).
    static let plausibleVersion: ClosedRange<Int32> = 0...9_999

    public var hasWideSeen: Bool { Int(major) * 10 + Int(minor) >= 2 && major < 1000 && minor < 1000 }
    /// Connected weights are stored transposed (inputs × outputs) in such files.
    public var transposedConnected: Bool { major > 1000 || minor > 1000 }
    public var byteCount: Int { hasWideSeen ? 20 : 16 }
    public var version: String { "\(major).\(minor).\(revision)" }
    public var description: String { "version \(version), seen \(seen), \(byteCount)-byte header" }

    /// Reads the header at the start of an open file.
    init(_ file: borrowing InputFile) throws {
        var bytes = [UInt8](repeating: 0, count: min(file.size, 20))
        try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        self = try bytes.withUnsafeBytes { try WeightsHeader(bytes: $0, file: file.path) }
    }

    /// Reads the header from the start of `bytes`, checking each field against what remains.
    init(bytes: UnsafeRawBufferPointer, file: String) throws {
        guard !bytes.isEmpty else {
            throw Diagnostic(at: .file(file), "the file is empty: expected a Darknet weights header (16 or 20 bytes)")
        }
        guard bytes.count >= 16 else {
            throw Diagnostic(at: .file(file), "the file is \(bytes.count) bytes long: too short for a Darknet weights header (16 or 20 bytes)")
        }
        func int32(at offset: Int) -> Int32 { Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)) }
        major = int32(at: 0)
        minor = int32(at: 4)
        revision = int32(at: 8)
        seen = 0
        for (name, value, offset) in [("major", major, 0), ("minor", minor, 4), ("revision", revision, 8)]
        where !Self.plausibleVersion.contains(value) {
            throw Diagnostic(at: .byte(file: file, offset: offset), "header \(name) version is \(value): not a Darknet weights file (versions are 0...9999)")
        }
        if hasWideSeen {
            guard bytes.count >= 20 else {
                throw Diagnostic(at: .file(file), "the file is \(bytes.count) bytes long: version \(version) needs a 20-byte header")
            }
            seen = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
        } else {
            seen = UInt64(UInt32(bitPattern: int32(at: 12)))
        }
    }

    /// The header's bytes, the mirror of `init(bytes:file:)`.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        for field in [major, minor, revision] { withUnsafeBytes(of: field.littleEndian) { out += $0 } }
        if hasWideSeen {
            withUnsafeBytes(of: seen.littleEndian) { out += $0 }
        } else {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: seen).littleEndian) { out += $0 }
        }
        return out
    }
}
