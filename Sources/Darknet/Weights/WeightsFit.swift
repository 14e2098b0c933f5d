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

extension WeightsFit {
    /// The layer boundary nearest to where the file's floats end: how many leading layers end
    /// there (the most, when weightless layers share it) and its float offset.
    public var nearestBoundary: (layers: Int, floatOffset: Int) {
        let available = availableFloats
        var best = (layers: 0, floatOffset: 0)
        for layers in counts.indices.map({ $0 + 1 }) {
            let end = offsets[layers - 1] + counts[layers - 1]
            if abs(end - available) <= abs(best.floatOffset - available) { best = (layers, end) }
        }
        return best
    }

    /// What else the file would fit exactly, where that can be worked out from the cfg.
    public struct Alternatives: Sendable, Equatable {
        /// Whether the cfg's [yolo]/[region] layers each follow a convolution whose `filters` can
        /// follow `classes=` (the most common mismatch: weights trained for another class count).
        public var classesComputable = false
        /// The `classes=` that fits, with the `filters=` it gives the convolution before each head.
        public var classes: (count: Int, filters: [Int])?
        /// Whether the input size changes how many floats the layers store (a [connected] layer's does).
        public var inputSizeMatters = false
        /// A square input size that fits, among the multiples of 32 up to `largestSearchedSize`.
        public var inputSize: Int?
        public static let largestSearchedSize = 1024

        public static func == (a: Self, b: Self) -> Bool {
            a.classesComputable == b.classesComputable && a.classes?.count == b.classes?.count
                && a.classes?.filters == b.classes?.filters && a.inputSizeMatters == b.inputSizeMatters && a.inputSize == b.inputSize
        }
    }

    /// Searches other class counts and input sizes for `cfg` that this file would fit exactly.
    /// Nothing is searched for a fit, or for a file whose body is not whole floats.
    public func alternatives(in cfg: CfgFile, options: DefinitionOptions = .init()) -> Alternatives {
        var result = Alternatives()
        guard verdict != .exact, (fileSize - header.byteCount) % 4 == 0 else { return result }
        let available = availableFloats
        func storedFloats(_ cfg: CfgFile, _ options: DefinitionOptions) -> Int? {
            (try? NetworkDefinition(cfg: cfg, options: options))?.storedFloats
        }

        // The stored floats grow linearly with the class count (only the convolutions before the
        // heads change): two counts give the slope, and the answer is checked by building it.
        if let current = withClasses(nil, cfg), let base = storedFloats(current.cfg, options),
           let next = withClasses(current.classes + 1, cfg), let slope = storedFloats(next.cfg, options).map({ $0 - base }), slope > 0 {
            result.classesComputable = true
            let difference = available - base
            if difference % slope == 0, current.classes + difference / slope >= 1,
               let candidate = withClasses(current.classes + difference / slope, cfg), storedFloats(candidate.cfg, options) == available {
                result.classes = (candidate.classes, candidate.filters)
            }
        }

        if let definition = try? NetworkDefinition(cfg: cfg, options: options) {
            var larger = options
            (larger.width, larger.height) = (definition.input.width + 32, definition.input.height + 32)
            result.inputSizeMatters = storedFloats(cfg, larger) != definition.storedFloats
            if result.inputSizeMatters {
                result.inputSize = stride(from: 32, through: Alternatives.largestSearchedSize, by: 32).first { size in
                    var sized = options
                    (sized.width, sized.height) = (size, size)
                    return storedFloats(cfg, sized) == available
                }
            }
        }
        return result
    }

    /// `cfg` with `classes=` set to `classes` in every [yolo]/[region] section (nil: the first
    /// head's current count) and `filters=` of the convolution just before each set to match;
    /// nil where a head does not follow a convolution or the counts do not add up.
    private func withClasses(_ classes: Int?, _ cfg: CfgFile) -> (cfg: CfgFile, classes: Int, filters: [Int])? {
        var changed = cfg
        var target = classes
        var filters: [Int] = []
        for index in cfg.sections.indices where ["yolo", "region"].contains(cfg.sections[index].name) {
            guard index > 0, ["convolutional", "conv"].contains(cfg.sections[index - 1].name) else { return nil }
            let head = cfg.sections[index]
            func value(_ key: String, _ fallback: Int) -> Int? {
                guard let entry = head.entries.first(where: { $0.key == key }) else { return fallback }
                return Int(entry.value)
            }
            // Darknet's defaults: 20 classes; [region] adds 4 coordinates and objectness, [yolo] 5 numbers.
            guard let current = value("classes", 20), let extra = head.name == "yolo" ? 5 : value("coords", 4).map({ $0 + 1 }),
                  let given = cfg.sections[index - 1].entries.first(where: { $0.key == "filters" }).flatMap({ Int($0.value) }),
                  given % (current + extra) == 0 else { return nil }
            let count = target ?? current
            target = count
            let anchors = given / (current + extra)
            filters.append(anchors * (count + extra))
            set("classes", count, in: &changed.sections[index])
            set("filters", anchors * (count + extra), in: &changed.sections[index - 1])
        }
        guard let target else { return nil }
        return (changed, target, filters)
    }

    private func set(_ key: String, _ value: Int, in section: inout CfgSection) {
        if let entry = section.entries.firstIndex(where: { $0.key == key }) {
            section.entries[entry].value = String(value)
        } else {
            section.entries.append(CfgEntry(key: key, value: String(value), line: section.line))
        }
    }
}
