import Glibc

/// How `NetworkWeights(contentsOf:for:allowPrefix:loading:)` brings a file's floats into memory.
public enum WeightsLoading: Sendable {
    /// Read into memory of the process's own: nothing outside the call changes.
    case read
    /// Mapped from the page cache, where the process can hold a read lease on the file (see
    /// `LeasedMapping`), and read otherwise: nothing is copied and no fresh memory is faulted in.
    /// The lease is why this is asked for, never the default: the first such load installs a
    /// process-wide handler for SIGRTMAX − 1, and while the weights live, another process that
    /// opens the file for writing waits until the handler has put a private copy of the pages
    /// in place of the mapping. So the weights never change under a network, and truncating the
    /// file cannot make its next access SIGBUS. A program that handles SIGRTMAX − 1 itself gets
    /// the file read.
    case leasedMapping
}

/// The parameters of a network as its weights file stores them: the header, then every layer's
/// float arrays in cfg order (see `Layer.weightArrays`), kept exactly as read so that writing
/// them back reproduces the file byte for byte.
public struct NetworkWeights: Sendable {
    public var header: WeightsHeader
    /// Every float after the header, in file order (shared with networks built from these weights).
    let storage: ParameterStore
    /// The float ranges of each array of each layer covered (all layers unless read as a prefix).
    public let arrayRanges: [[Range<Int>]]

    public var coveredLayers: Int { arrayRanges.count }

    /// A copy of every float after the header, in file order.
    public var floats: [Float] { Array(storage.buffer) }

    /// The floats in place, without a copy.
    public func withFloats<Result>(_ body: (UnsafeBufferPointer<Float>) throws -> Result) rethrows -> Result {
        try body(storage.buffer)
    }

    /// Whether the floats are the weights file's pages, mapped under a lease (false when read,
    /// made otherwise, or copied since because a writer opened the file).
    public var isMapped: Bool { storage.isMapped }

    /// How many of the floats are NaN or ±infinity: a damaged file can be the right length.
    /// Counted as a file is read; weights made otherwise are scanned when asked.
    public var nonFiniteCount: Int { countedNonFinite ?? withFloats(Self.countNonFinite) }
    private var countedNonFinite: Int?

    /// x − x is 0 for every finite x and NaN otherwise, so a block whose sum of x − x is still 0
    /// has none; only other blocks are counted one by one. Four sums of eight lanes, so that
    /// the additions do not wait for one another.
    static func countNonFinite(_ floats: UnsafeBufferPointer<Float>) -> Int {
        let raw = UnsafeRawPointer(floats.baseAddress!)
        func lanes(_ i: Int) -> SIMD8<Float> {
            let x = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            return x - x
        }
        var count = 0
        for block in stride(from: 0, to: floats.count, by: 4096) {
            let end = min(block + 4096, floats.count)
            var (a, b, c, d) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            var i = block
            while i + 32 <= end {
                (a, b, c, d) = (a + lanes(i), b + lanes(i + 8), c + lanes(i + 16), d + lanes(i + 24))
                i += 32
            }
            if (a + b) + (c + d) == SIMD8() && floats[i..<end].allSatisfy(\.isFinite) { continue }
            count += floats[block..<end].reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        }
        return count
    }

    init(header: WeightsHeader, storage: ParameterStore, definition: NetworkDefinition) {
        self.header = header
        self.storage = storage
        self.arrayRanges = Self.ranges(definition.layers)
    }

    /// Weights for every layer of `definition`, in file order; `floats.count` must be exact.
    public init(header: WeightsHeader, floats: [Float], for definition: NetworkDefinition) throws {
        let ranges = Self.ranges(definition.layers)
        guard floats.count == Self.end(of: ranges[...]) else {
            throw Diagnostic(at: .file(definition.path), "\(floats.count) floats given; the network stores \(definition.storedFloats)")
        }
        self.init(header: header, storage: ParameterStore(floats), definition: definition)
    }

    /// Reads a weights file for `definition`. The counts are checked against the file's size
    /// before anything is allocated; on any error nothing is returned half-loaded.
    /// With `allowPrefix`, a file that stops at a layer boundary (darknet53.conv.74) is accepted
    /// and covers only the layers before it.
    ///
    /// By default the floats are read into memory of the process's own, which changes nothing
    /// outside the call. `.leasedMapping` maps them instead where it can; see `WeightsLoading`.
    public init(contentsOf path: String, for definition: NetworkDefinition, allowPrefix: Bool = false,
                loading: WeightsLoading = .read) throws {
        let file = try InputFile(path: path)
        header = try WeightsHeader(file)
        let fit = WeightsFit(header: header, fileSize: file.size, definition: definition)

        var layers = definition.layers.count
        switch fit.verdict {
        case .exact:
            break
        case .short(let missing, let index) where fit.prefixLayers == nil || !allowPrefix:
            let layer = definition.layers[index]
            let offset = fit.offsets[index]
            let available = max(0, fit.availableFloats - offset)
            var message = "layer \(index) [\(layer.typeName)] at float offset \(offset) needs \(layer.storedFloats) floats, \(available) remain"
            message += "; the file holds \(fit.availableFloats) floats after its header, \(definition.path) needs \(fit.neededFloats) (short by \(missing))"
            if fit.prefixLayers != nil { message += "; it ends at a layer boundary: load it as a prefix to use its first layers" }
            throw Diagnostic(at: .byte(file: path, offset: self.header.byteCount + 4 * min(offset + available, fit.availableFloats)), message)
        case .short:
            layers = fit.prefixLayers!
        case .extra(let bytes):
            let last = definition.layers.count - 1
            throw Diagnostic(at: .byte(file: path, offset: self.header.byteCount + 4 * fit.neededFloats),
                             "\(bytes) bytes remain after the last layer (\(last) [\(definition.layers[last].typeName)]); \(definition.path) needs \(fit.neededFloats) floats, the file holds \(fit.availableFloats): are these the weights of another cfg?")
        }

        arrayRanges = Array(Self.ranges(definition.layers).prefix(layers))
        let count = Self.end(of: arrayRanges[...])
        // A megabyte at a time on all cores: each piece read and checked while still in cache,
        // or, mapped, checked (which faults the mapping's pages in).
        let pieceBytes = 1 << 20
        let pieces = (count * 4 + pieceBytes - 1) / pieceBytes
        var nonFinite = [Int](repeating: 0, count: pieces)
        #if _endian(little)
        let mapping = loading == .leasedMapping ? FloatMemory(mapping: file.descriptor, byteOffset: header.byteCount, count: count) : nil
        #else
        let mapping: FloatMemory? = nil // the file's little-endian floats must be swapped: read them
        #endif
        storage = mapping.map(ParameterStore.init(memory:)) ?? ParameterStore(uninitializedCount: count)
        let storage = storage
        try nonFinite.withUnsafeMutableBufferPointer { nonFinite in
            if mapping != nil {
                Parallel.forEach(pieces, work: count) { range in
                    for index in range {
                        let piece = storage.buffer[(index * pieceBytes / 4)..<min((index + 1) * pieceBytes / 4, count)]
                        nonFinite[index] = Self.countNonFinite(UnsafeBufferPointer(rebasing: piece))
                    }
                }
            } else {
                try file.read(into: UnsafeMutableRawBufferPointer(start: storage.pointer, count: count * 4), at: header.byteCount,
                              pieceBytes: pieceBytes) { index, piece in
                    let floats = piece.bindMemory(to: Float.self)
                    #if _endian(big)
                    for i in floats.indices { floats[i] = Float(bitPattern: UInt32(littleEndian: floats[i].bitPattern)) }
                    #endif
                    nonFinite[index] = Self.countNonFinite(UnsafeBufferPointer(floats))
                }
            }
        }
        countedNonFinite = nonFinite.reduce(0, +)
    }

    private init(header: WeightsHeader, storage: ParameterStore, arrayRanges: [[Range<Int>]]) {
        self.header = header
        self.storage = storage
        self.arrayRanges = arrayRanges
    }

    static func ranges(_ layers: [Layer]) -> [[Range<Int>]] {
        var offset = 0
        return layers.map { layer in
            layer.weightArrays.map { array in
                defer { offset += array.count }
                return offset..<(offset + array.count)
            }
        }
    }

    /// The float offset where these layers end (weightless layers store nothing).
    static func end(of ranges: ArraySlice<[Range<Int>]>) -> Int {
        ranges.last(where: { !$0.isEmpty })?.last?.upperBound ?? 0
    }

    /// The arrays of one covered layer, in `Layer.weightArrays` order.
    public func arrays(of layer: Int) -> [[Float]] {
        arrayRanges[layer].map { Array(storage.buffer[$0]) }
    }

    /// The same weights under another header. Where the two headers disagree on whether
    /// connected weights are stored transposed, those matrices are transposed to keep meaning.
    public func with(header newHeader: WeightsHeader, definition: NetworkDefinition) -> NetworkWeights {
        var copy = self
        copy.header = newHeader
        guard newHeader.transposedConnected != header.transposedConnected else { return copy }
        let floats = storage.buffer
        let transposed = ParameterStore(Array(floats))
        copy = NetworkWeights(header: newHeader, storage: transposed, arrayRanges: arrayRanges)
        for (layer, ranges) in zip(definition.layers, arrayRanges) {
            guard case .connected(let connected) = layer.spec else { continue }
            let weights = ranges[layer.weightArrays.firstIndex { $0.role == .weights }!]
            let (rows, columns) = header.transposedConnected ? (connected.inputs, connected.outputs) : (connected.outputs, connected.inputs)
            for row in 0..<rows {
                for column in 0..<columns {
                    transposed.pointer[weights.lowerBound + column * rows + row] = floats[weights.lowerBound + row * columns + column]
                }
            }
        }
        return copy
    }

    /// Writes the header and the first `layers` layers (all covered ones by default), as
    /// Darknet's `save_weights_upto` does, into a temporary file renamed into place.
    public func write(to path: String, layers: Int? = nil) throws {
        let count = min(layers ?? coveredLayers, coveredLayers)
        let end = Self.end(of: arrayRanges.prefix(count))
        try writeAtomically(to: path) { write in
            try header.bytes.withUnsafeBytes { try write($0) }
            #if _endian(big)
            let stored = storage.buffer[..<end].map { $0.bitPattern.littleEndian }
            try stored.withUnsafeBytes { try write($0) }
            #else
            try write(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage.buffer)[..<(end * 4)]))
            #endif
        }
    }
}
