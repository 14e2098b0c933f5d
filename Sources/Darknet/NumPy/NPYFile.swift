/// NumPy's `.npy` format (version 1.0 written; 1.0–3.0 read) for little-endian float32 arrays
/// in C order: the way tensors leave and enter `swift-darknet run`.
public enum NPYFile {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public static func write(_ tensor: Tensor, to path: String) throws {
        let shape = tensor.shape.map { "\($0)," }.joined(separator: " ")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(tensor.shape.count == 1 ? shape : String(shape.dropLast()))), }"
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var prefix = magic + [1, 0]
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { prefix += $0 }
        prefix += Array(header.utf8)
        try writeAtomically(to: path) { write in
            try prefix.withUnsafeBytes { try write($0) }
            try tensor.data.map { $0.bitPattern.littleEndian }.withUnsafeBytes { try write($0) }
        }
    }

    public static func read(_ path: String) throws -> Tensor {
        let file = try InputFile(path: path)
        func fail(_ message: String, at offset: Int = 0) -> Diagnostic {
            Diagnostic(at: .byte(file: path, offset: offset), message)
        }
        guard file.size >= 10 else { throw fail("the file is \(file.size) bytes long: not a NumPy .npy file") }
        var start = [UInt8](repeating: 0, count: 12)
        try start.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<min(12, file.size)]), at: 0) }
        guard Array(start.prefix(6)) == magic else { throw fail("no NumPy magic (\\x93NUMPY): not a .npy file") }
        let major = start[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: (headerLength, headerStart) = (Int(start[8]) | Int(start[9]) << 8, 10)
        case 2, 3:
            headerLength = Int(start[8]) | Int(start[9]) << 8 | Int(start[10]) << 16 | Int(start[11]) << 24
            headerStart = 12
        default: throw fail(".npy version \(major) is not supported (1, 2 or 3)", at: 6)
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= file.size else {
            throw fail("the header claims \(headerLength) bytes; the file has \(file.size - headerStart) after the preamble", at: 8)
        }
        var headerBytes = [UInt8](repeating: 0, count: headerLength)
        try headerBytes.withUnsafeMutableBytes { try file.read(into: $0, at: headerStart) }
        let header = String(decoding: headerBytes, as: UTF8.self).filter { $0 != " " }
        guard header.contains("'descr':'<f4'") else {
            throw fail("only little-endian float32 ('<f4') arrays are read; the header is \(header.trimmingWhitespace)", at: headerStart)
        }
        guard header.contains("'fortran_order':False") else { throw fail("Fortran-order arrays are not read; save in C order", at: headerStart) }
        guard let open = header.firstRange(of: "'shape':("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail("the header has no shape", at: headerStart)
        }
        let dims = header[open.upperBound..<close].split(separator: ",").map { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? -1) >= 0 }) else { throw fail("the shape is not a tuple of sizes", at: headerStart) }
        let shape = dims.map { $0! }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= (file.size - headerStart - headerLength) / 4 else {
                throw fail("shape \(shape) needs more floats than the \(file.size - headerStart - headerLength) bytes of data hold", at: headerStart + headerLength)
            }
            count = product
        }
        let dataStart = headerStart + headerLength
        guard file.size - dataStart == count * 4 else {
            throw fail("shape \(shape) needs \(count * 4) bytes of data; the file has \(file.size - dataStart)", at: dataStart)
        }
        var data = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try file.read(into: UnsafeMutableRawBufferPointer(buffer), at: dataStart)
            initialized = count
        }
        #if _endian(big)
        data = data.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
        return Tensor(shape: shape, data: data)
    }
}
