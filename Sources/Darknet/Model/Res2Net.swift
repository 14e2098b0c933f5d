/// The convolutions of a `[res2net]` or `[triangle]` block. `map` visits them in the order the
/// weights file stores them (reduce, the inner ones, expand); everything that needs that
/// order — the file layout, the runtime's binding — goes through it.
public struct BlockConvolutions<Element> {
    /// The 1×1 conv to `width·scale` channels.
    public var reduce: Element
    /// The `scale − 1` inner 3×3 convolutions, in order.
    public var inner: [Element]
    /// res2net's closing 1×1 conv back to the input's channels; nil for triangle.
    public var expand: Element?

    func map<T>(_ transform: (Element) throws -> T) rethrows -> BlockConvolutions<T> {
        let reduce = try transform(self.reduce)
        let inner = try self.inner.map(transform)
        let expand = try self.expand.map(transform)
        return BlockConvolutions<T>(reduce: reduce, inner: inner, expand: expand)
    }

    /// All of them in file order.
    var all: [Element] {
        var all: [Element] = []
        _ = map { all.append($0) }
        return all
    }
}

extension BlockConvolutions: Sendable where Element: Sendable {}
extension BlockConvolutions: Equatable where Element: Equatable {}

/// The part `[res2net]` and `[triangle]` share (the seed's `Bottle2neck` up to `conv3`):
/// a 1×1 conv to `width·scale` channels, then hierarchical 3×3 convs over `scale` groups of
/// `width` channels — group i (i < scale−1) is convolved after adding the previous group's
/// result; the last group passes through — and the groups concatenated again; res2net adds a
/// closing 1×1 conv and the block input.
public struct HierarchicalSplit: Sendable, Equatable {
    public var width: Int
    public var scale: Int
    public var convolutions: BlockConvolutions<Convolutional>

    /// - Parameter residual: res2net's closing conv plus input; triangle has neither.
    init(_ r: inout SectionReader, _ context: SectionContext, defaultBaseWidth: Int, residual: Bool) throws {
        let planes = try r.int("planes", in: 1...Int(Int32.max))
        let baseWidth = try r.int("base_width", default: defaultBaseWidth, in: 1...Int(Int32.max))
        scale = try r.int("scale", default: 4, in: 2...Int(Int32.max))
        let (product, overflow) = planes.multipliedReportingOverflow(by: baseWidth)
        guard !overflow, !(product / 64).multipliedReportingOverflow(by: scale).overflow else {
            throw r.error("planes", "planes·base_width/64·scale channels pass the integer range")
        }
        width = product / 64 // floor(planes · base_width / 64), as the seed
        guard width >= 1 else {
            throw r.error("planes", "planes·base_width/64 = 0: each of the \(scale) groups would have no channels")
        }
        let split = Shape(channels: width, height: context.input.height, width: context.input.width)
        let reduce = try Convolutional(input: context.input, filters: width * scale, size: 1, padding: 0,
                                       batchNormalize: true, activation: .leaky, context: context, reader: r)
        let conv3x3 = try Convolutional(input: split, filters: width, size: 3, padding: 1,
                                        batchNormalize: true, activation: .leaky, context: context, reader: r)
        var expand: Convolutional?
        if residual {
            guard context.input.channels == 2 * planes else {
                throw r.error("planes", "the residual needs \(2 * planes) input channels (planes·2), but the input has \(context.input.channels)")
            }
            expand = try Convolutional(input: reduce.output, filters: 2 * planes, size: 1, padding: 0,
                                       batchNormalize: true, activation: .linear, context: context, reader: r)
        }
        convolutions = BlockConvolutions(reduce: reduce, inner: Array(repeating: conv3x3, count: scale - 1), expand: expand)
    }

    var output: Shape { (convolutions.expand ?? convolutions.reduce).output }
}

/// res2net and triangle: everything but their keys follows from their split.
protocol SplitBlock: Kind {
    var split: HierarchicalSplit { get }
}

extension SplitBlock {
    var output: Shape { split.output }
    var weightArrays: [WeightArray] { split.convolutions.all.flatMap(\.weightArrays) }
    var macs: Int { split.convolutions.all.map(\.macs).reduce(0, +) }
    var summaryFilters: String { "\(output.channels)" }
    var summarySize: String { "w\(split.width)×\(split.scale)" }
    func sources(at index: Int) -> [Int] { previousLayer(index) }

    /// The block as its convolutions and the slices, sums and concatenation between them.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let (convolutions, width, scale) = (split.convolutions, split.width, split.scale)
        let reduced = graph.convolution(convolutions.reduce, graph.input)
        var groups: [String] = []
        for (i, convolution) in convolutions.inner.enumerated() {
            var group = graph.slice(reduced, axis: 1, (i * width)..<((i + 1) * width))
            if i > 0 { group = graph.node("Add", [groups[i - 1], group]) }
            groups.append(graph.convolution(convolution, group))
        }
        groups.append(graph.slice(reduced, axis: 1, ((scale - 1) * width)..<(scale * width)))
        let joined = graph.node("Concat", groups, [.int("axis", 1)])
        guard let expand = convolutions.expand else { return joined }
        return graph.node("Add", [graph.convolution(expand, joined), graph.input])
    }
}

/// `[res2net]`: the seed's `Bottle2neck` (stride 1, `stype='normal'`): the hierarchical split,
/// a 1×1 conv back to `planes·2` channels with batch-norm and no activation, plus the input.
public struct Res2Net: SplitBlock {
    static let sectionNames = ["res2net"]
    var spec: LayerSpec { .res2net(self) }

    public var split: HierarchicalSplit

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        split = try HierarchicalSplit(&r, context, defaultBaseWidth: 26, residual: true)
    }
}

/// `[triangle]`: the seed's `Triangle`, the hierarchical split alone (base width 16 by default),
/// with no closing conv and no residual; its output has `width·scale` channels.
public struct Triangle: SplitBlock {
    static let sectionNames = ["triangle"]
    var spec: LayerSpec { .triangle(self) }

    public var split: HierarchicalSplit

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        split = try HierarchicalSplit(&r, context, defaultBaseWidth: 16, residual: false)
    }
}
