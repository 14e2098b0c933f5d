/// How a weights file of a given size lines up with a network definition, worked out from the
/// header and the file size alone, before a single float is read.
public struct WeightsFit: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        case exact
        /// The file ends `missing` floats early; `layer` is the first layer it does not cover whole.
        case short(missing: Int, layer: Int)
        /// Bytes after the last layer.
        case extra(bytes: Int)
    }

    public let header: WeightsHeader
    public let fileSize: Int
    /// Float offset (after the header) where each layer's arrays begin.
    public let offsets: [Int]
    public let counts: [Int]
    public let verdict: Verdict

    /// Floats the file holds after its header (whole floats only).
    public var availableFloats: Int { (fileSize - header.byteCount) / 4 }
    public var neededFloats: Int { (offsets.last ?? 0) + (counts.last ?? 0) }

    /// Reads only the header and the size of the file at `path`.
    public init(contentsOf path: String, for definition: NetworkDefinition) throws {
        let file = try InputFile(path: path)
        self.init(header: try WeightsHeader(file), fileSize: file.size, definition: definition)
    }

    init(header: WeightsHeader, fileSize: Int, definition: NetworkDefinition) {
        self.header = header
        self.fileSize = fileSize
        let counts = definition.layers.map(\.storedFloats)
        self.counts = counts
        var offsets: [Int] = []
        var offset = 0
        for count in counts {
            offsets.append(offset)
            offset += count
        }
        self.offsets = offsets
        let ends = zip(offsets, counts).map(+)
        let bodyBytes = fileSize - header.byteCount
        if bodyBytes < offset * 4 {
            let available = bodyBytes / 4
            let layer = ends.firstIndex { $0 > available } ?? counts.count - 1
            verdict = .short(missing: offset - available, layer: layer)
        } else if bodyBytes > offset * 4 {
            verdict = .extra(bytes: bodyBytes - offset * 4)
        } else {
            verdict = .exact
        }
    }

    /// How many leading layers a file that ends at a layer boundary covers (the largest such
    /// count, so weightless layers after the last stored one are included), or nil.
    public var prefixLayers: Int? {
        guard case .short = verdict, availableFloats > 0, (fileSize - header.byteCount) % 4 == 0 else { return nil }
        let available = availableFloats
        guard let next = counts.indices.first(where: { offsets[$0] + counts[$0] > available }), offsets[next] == available else {
            return nil
        }
        return next
    }
}
