/// The part `[res2net]` and `[triangle]` share (the seed's `Bottle2neck` up to `conv3`):
/// a 1×1 conv to `width·scale` channels, then hierarchical 3×3 convs over `scale` groups of
/// `width` channels — group i (i < scale−1) is convolved after adding the previous group's
/// result; the last group passes through — and the groups concatenated again.
public struct HierarchicalSplit: Sendable, Equatable {
    public var width: Int
    public var scale: Int
    public var reduce: Convolutional
    /// The `scale − 1` inner 3×3 convolutions, in order.
    public var inner: [Convolutional]

    init(_ r: inout SectionReader, _ context: LayerContext, defaultBaseWidth: Int) throws {
        let planes = try r.int("planes", in: 1...Int(Int32.max))
        let baseWidth = try r.int("base_width", default: defaultBaseWidth, in: 1...Int(Int32.max))
        scale = try r.int("scale", default: 4, in: 2...Int(Int32.max))
        width = planes * baseWidth / 64 // floor(planes · base_width / 64), as the seed
        guard width >= 1 else {
            throw r.error("planes", "planes·base_width/64 = 0: each of the \(scale) groups would have no channels")
        }
        let split = Shape(channels: width, height: context.input.height, width: context.input.width)
        reduce = try Convolutional(input: context.input, filters: width * scale, size: 1, padding: 0,
                                   batchNormalize: true, activation: .leaky, context: context, reader: r)
        let conv3x3 = try Convolutional(input: split, filters: width, size: 3, padding: 1,
                                        batchNormalize: true, activation: .leaky, context: context, reader: r)
        inner = Array(repeating: conv3x3, count: scale - 1)
    }

    var convolutions: [Convolutional] { [reduce] + inner }
}

/// `[res2net]`: the seed's `Bottle2neck` (stride 1, `stype='normal'`): the hierarchical split,
/// a 1×1 conv back to `planes·2` channels with batch-norm and no activation, plus the input.
public struct Res2Net: LayerKind, Equatable {
    static let typeName = "res2net"

    public var split: HierarchicalSplit
    public var expand: Convolutional

    init(_ r: inout SectionReader, _ context: LayerContext) throws {
        split = try HierarchicalSplit(&r, context, defaultBaseWidth: 26)
        let planes = try r.int("planes")
        guard context.input.channels == 2 * planes else {
            throw r.error("planes", "the residual needs \(2 * planes) input channels (planes·2), but the input has \(context.input.channels)")
        }
        expand = try Convolutional(input: split.reduce.output, filters: 2 * planes, size: 1, padding: 0,
                                   batchNormalize: true, activation: .linear, context: context, reader: r)
    }

    var convolutions: [Convolutional] { split.convolutions + [expand] }
    var output: Shape { expand.output }
    var weightArrays: [WeightArray] { convolutions.flatMap(\.weightArrays) }
    var macs: Int { convolutions.map(\.macs).reduce(0, +) }
    var summaryFilters: String { "\(output.channels)" }
    var summarySize: String { "w\(split.width)×\(split.scale)" }
}

/// `[triangle]`: the seed's `Triangle`, the hierarchical split alone (base width 16 by default),
/// with no closing conv and no residual; its output has `width·scale` channels.
public struct Triangle: LayerKind, Equatable {
    static let typeName = "triangle"

    public var split: HierarchicalSplit

    init(_ r: inout SectionReader, _ context: LayerContext) throws {
        split = try HierarchicalSplit(&r, context, defaultBaseWidth: 16)
    }

    var convolutions: [Convolutional] { split.convolutions }
    var output: Shape { split.reduce.output }
    var weightArrays: [WeightArray] { convolutions.flatMap(\.weightArrays) }
    var macs: Int { convolutions.map(\.macs).reduce(0, +) }
    var summaryFilters: String { "\(output.channels)" }
    var summarySize: String { "w\(split.width)×\(split.scale)" }
}
