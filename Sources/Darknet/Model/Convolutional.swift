/// `[convolutional]` (alias `[conv]`).
public struct Convolutional: Kind {
    static let sectionNames = ["convolutional", "conv"]
    var spec: LayerSpec { .convolutional(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }

    public var input: Shape
    public var filters: Int
    public var size: Int
    public var stride: Int
    /// Zero padding on each side. `pad=1` means `size/2`, as in Darknet's parser.
    public var padding: Int
    public var groups: Int
    public var dilation: Int
    public var batchNormalize: Bool
    public var activation: Activation
    /// AlexeyAB's `normalize_channels*`, applied across the channels of each pixel after the
    /// (then linear) activation.
    public var channelNormalization: ChannelNormalization?
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        let input = context.input
        let filters = try r.int("filters", default: 1, in: 1...Int(Int32.max))
        let size = try r.int("size", default: 1, in: 1...Int(Int32.max))
        let stride = try r.int("stride", default: 1, in: 1...Int(Int32.max))
        let pad = try r.bool("pad")
        var padding = try r.int("padding", default: 0, in: 0...Int(Int32.max))
        if pad { padding = size / 2 }
        let groups = try r.int("groups", default: 1, in: 1...Int(Int32.max))
        let dilation = try r.int("dilation", default: 1, in: 1...Int(Int32.max))
        guard input.channels % groups == 0 else {
            throw r.error("groups", "does not divide the \(input.channels) input channels")
        }
        guard filters % groups == 0 else {
            throw r.error("groups", "does not divide filters=\(filters)")
        }
        for key in ["binary", "xnor", "flipped"] {
            if try r.bool(key) { throw r.error(key, "binary, XNOR and flipped convolutions are not supported") }
        }
        let (activation, channelNormalization) = try r.convolutionActivation(default: .logistic) // Darknet's default
        try self.init(input: input, filters: filters, size: size, stride: stride, padding: padding,
                      groups: groups, dilation: dilation,
                      batchNormalize: try r.bool("batch_normalize"),
                      activation: activation, context: context, reader: r)
        self.channelNormalization = channelNormalization
    }

    /// A convolution inside a compound block (res2net, triangle), checked like a section's.
    init(input: Shape, filters: Int, size: Int, stride: Int = 1, padding: Int, groups: Int = 1, dilation: Int = 1,
         batchNormalize: Bool, activation: Activation, context: SectionContext, reader: SectionReader) throws {
        self.input = input
        self.filters = filters
        self.size = size
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.dilation = dilation
        self.batchNormalize = batchNormalize
        self.activation = activation
        // AlexeyAB's formula; with dilation 1 it is Darknet's (h + 2·pad − size)/stride + 1.
        let span = dilation * (size - 1) + 1
        self.output = Shape(channels: filters,
                            height: (input.height + 2 * padding - span) / stride + 1,
                            width: (input.width + 2 * padding - span) / stride + 1)
        guard input.height + 2 * padding >= span, input.width + 2 * padding >= span else {
            throw Diagnostic(at: reader.location, "[\(reader.name)] a \(size)×\(size) kernel (dilation \(dilation)) does not fit the \(input.height)×\(input.width) input with padding \(padding)")
        }
        try context.checkShape(output, in: reader)
        _ = try context.floats([filters, input.channels / groups, size, size], "weights", in: reader)
    }

    public var weightCount: Int { filters * fanIn }
    /// Inputs each output sums over.
    var fanIn: Int { input.channels / groups * size * size }

    var weightArrays: [WeightArray] {
        if batchNormalize {
            return [WeightArray(role: .normBias, count: filters), WeightArray(role: .normScale, count: filters),
                    WeightArray(role: .rollingMean, count: filters), WeightArray(role: .rollingVariance, count: filters),
                    WeightArray(role: .weights, count: weightCount, fanIn: fanIn)]
        }
        return [WeightArray(role: .bias, count: filters), WeightArray(role: .weights, count: weightCount, fanIn: fanIn)]
    }

    var macs: Int { output.height * output.width * weightCount }
    var summaryFilters: String { groups == 1 ? "\(filters)" : "\(filters)/\(groups)" }
    var summarySize: String { "\(size)×\(size)/\(stride)" + (dilation > 1 ? " d\(dilation)" : "") }
}
