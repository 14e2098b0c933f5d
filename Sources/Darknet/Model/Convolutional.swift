/// `[convolutional]` (alias `[conv]`).
public struct Convolutional: Kind {
    static let sectionNames = ["convolutional", "conv"]
    var spec: LayerSpec { .convolutional(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }

    public var input: Shape
    public var filters: Int
    public var size: Int
    /// The horizontal stride (`stride_x`, `stride` by default).
    public var stride: Int
    /// The vertical stride (`stride_y`, `stride` by default).
    public var strideY: Int
    /// Zero padding on each side. `pad=1` means `size/2`, as in Darknet's parser; AlexeyAB's
    /// `dilation` multiplies it.
    public var padding: Int
    public var groups: Int
    public var dilation: Int
    public var batchNormalize: Bool
    public var activation: Activation
    /// The layer's factor of the network's learning rate (its `learning_rate`, default 1).
    public var learningRateScale: Float = 1
    /// AlexeyAB's `normalize_channels*`, applied across the channels of each pixel after the
    /// (then linear) activation.
    public var channelNormalization: ChannelNormalization?
    public var output: Shape
    /// AlexeyAB's `share_index`: the earlier convolution whose weights, biases and batch-norm
    /// parameters this one uses; it stores none itself.
    public var sharedParameters: Int?
    /// AlexeyAB's `antialiasing` (1 or 2): the convolution runs at stride 1 to `blurInput`,
    /// then a fixed depthwise blur, 3×3 [1 2 1]ᵀ[1 2 1]/16 padded by 1 (1) or 2×2 of 1/4
    /// unpadded (2), takes the strides. 0 without.
    public var antialiasing = 0
    /// The stride-1 convolution's output, which the blur reads (antialiasing only).
    public var blurInput: Shape?

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        let input = context.input
        let filters = try r.int("filters", default: 1, in: 1...Int(Int32.max))
        let size = try r.int("size", default: 1, in: 1...Int(Int32.max))
        // AlexeyAB's stride_x/stride_y: a value below 1 (or none) takes `stride`'s.
        var strideX = try r.int("stride_x", default: -1)
        var strideY = try r.int("stride_y", default: -1)
        let stride = try r.int("stride", default: 1, in: 1...Int(Int32.max))
        if strideX < 1 { strideX = stride }
        if strideY < 1 { strideY = stride }
        let pad = try r.bool("pad")
        var padding = try r.int("padding", default: 0, in: 0...Int(Int32.max))
        if pad { padding = size / 2 }
        let groups = try r.int("groups", default: 1, in: 1...Int(Int32.max))
        var dilation = try r.int("dilation", default: 1, in: 1...Int(Int32.max))
        if size == 1 { dilation = 1 } // as AlexeyAB's parser does
        if dilation > 1 {
            // AlexeyAB's darknet pads by padding·dilation but sizes the output as if undilated,
            // (h + 2·padding − size)/stride + 1: the two agree only for padding = (size − 1)/2.
            guard 2 * padding + 1 == size else {
                throw r.error("dilation", "a dilated \(size)×\(size) kernel needs padding=\((size - 1) / 2) (pad=1 and an odd size), as AlexeyAB's darknet sizes its output as if undilated; padding is \(padding)")
            }
            padding *= dilation
        }
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
        if try r.int("coordconv", default: 0) != 0 { // AlexeyAB's GPU-only coordinate channels
            throw r.error("coordconv", "not supported")
        }
        let antialiasing = try r.int("antialiasing", default: 0, in: 0...2)
        // AlexeyAB's training-only and GPU-only keys, of no effect on its CPU forward pass.
        r.ignore(["assisted_excitation", "sway", "rotate", "stretch", "stretch_sway", "angle", "grad_centr", "reverse",
                  "stream", "wait_stream", "dot", "bin_output"])
        try self.init(input: input, filters: filters, size: size, stride: strideX, strideY: strideY, padding: padding,
                      groups: groups, dilation: dilation,
                      // AlexeyAB's cross-iteration batch-norm (cbn) normalises as batch-norm at inference.
                      batchNormalize: try r.int("batch_normalize", default: 0, in: 0...2) != 0 || r.bool("cbn"),
                      activation: activation, context: context, reader: r)
        self.channelNormalization = channelNormalization
        if antialiasing != 0 { try antialias(antialiasing, context, r) }
        if r.has("share_index") {
            sharedParameters = try sharedLayer(try r.int("share_index"), context, r)
        }
        learningRateScale = try r.float("learning_rate", default: 1)
    }

    /// A convolution inside a compound block (res2net, triangle), checked like a section's.
    init(input: Shape, filters: Int, size: Int, stride: Int = 1, strideY: Int? = nil, padding: Int, groups: Int = 1, dilation: Int = 1,
         batchNormalize: Bool, activation: Activation, context: SectionContext, reader: SectionReader) throws {
        self.input = input
        self.filters = filters
        self.size = size
        self.stride = stride
        self.strideY = strideY ?? stride
        self.padding = padding
        self.groups = groups
        self.dilation = dilation
        self.batchNormalize = batchNormalize
        self.activation = activation
        // AlexeyAB's formula; with dilation 1 it is Darknet's (h + 2·pad − size)/stride + 1.
        let span = dilation * (size - 1) + 1
        self.output = Shape(channels: filters,
                            height: (input.height + 2 * padding - span) / self.strideY + 1,
                            width: (input.width + 2 * padding - span) / stride + 1)
        guard input.height + 2 * padding >= span, input.width + 2 * padding >= span else {
            throw Diagnostic(at: reader.location, "[\(reader.name)] a \(size)×\(size) kernel (dilation \(dilation)) does not fit the \(input.height)×\(input.width) input with padding \(padding)")
        }
        try context.checkShape(output, in: reader)
        _ = try context.floats([filters, input.channels / groups, size, size], "weights", in: reader)
    }

    /// Makes the convolution stride 1 and the blur take its strides, as make_convolutional_layer does.
    private mutating func antialias(_ kind: Int, _ context: SectionContext, _ r: SectionReader) throws {
        antialiasing = kind
        let span = dilation * (size - 1) + 1
        blurInput = Shape(channels: filters, height: input.height + 2 * padding - span + 1, width: input.width + 2 * padding - span + 1)
        try context.checkShape(blurInput!, in: r)
        let blur = blurStage
        guard blurInput!.height + 2 * blur.padding >= blur.size, blurInput!.width + 2 * blur.padding >= blur.size else {
            throw r.error("antialiasing", "its \(blur.size)×\(blur.size) blur does not fit the \(blurInput!.height)×\(blurInput!.width) output")
        }
        output = blur.output
    }

    /// The stride-1 convolution an antialiased one runs first.
    var convolutionStage: Convolutional {
        var stage = self
        (stage.stride, stage.strideY, stage.antialiasing, stage.blurInput) = (1, 1, 0, nil)
        stage.output = blurInput!
        return stage
    }

    /// The fixed blur an antialiased convolution runs second (its weights are not stored).
    var blurStage: Convolutional {
        var stage = self
        let (size, padding) = antialiasing == 2 ? (2, 0) : (3, 1)
        (stage.input, stage.size, stage.padding, stage.dilation, stage.groups) = (blurInput!, size, padding, 1, filters)
        (stage.batchNormalize, stage.activation, stage.antialiasing, stage.blurInput, stage.sharedParameters) = (false, .linear, 0, nil, nil)
        stage.channelNormalization = nil // an activation, which AlexeyAB's blur layer (linear) does not repeat
        stage.output = Shape(channels: filters, height: (blurInput!.height + 2 * padding - size) / strideY + 1,
                             width: (blurInput!.width + 2 * padding - size) / stride + 1)
        return stage
    }

    /// The blur's kernel (`blurStage`'s size): [1 2 1]ᵀ[1 2 1]/16, or 2×2 of 1/4.
    var blurTaps: [Float] { size == 2 ? [1, 1, 1, 1].map { $0 / 4 } : [1, 2, 1, 2, 4, 2, 1, 2, 1].map { $0 / 16 } }

    /// The convolution whose parameters `share_index` names (the one that stores them, where
    /// that one shares too), checked as AlexeyAB's make_convolutional_layer checks it, plus
    /// batch-norm on both or neither (AB would read the other's missing arrays).
    private func sharedLayer(_ reference: Int, _ context: SectionContext, _ r: SectionReader) throws -> Int {
        let index = try context.resolve(reference, key: "share_index", in: r)
        guard case .convolutional(let other) = context.previousSpecs[index] else {
            throw r.error("share_index", "layer \(index) is a [\(context.previousSpecs[index].typeName)], not a convolution to share weights with")
        }
        guard other.size == size, other.input.channels == input.channels, other.filters == filters,
              other.groups == groups, other.batchNormalize == batchNormalize else {
            throw r.error("share_index", "layer \(index) has \(other.filters) filters of \(other.size)×\(other.size) over \(other.input.channels) channels in \(other.groups) groups\(other.batchNormalize ? " with" : " without") batch-norm; this layer has \(filters) of \(size)×\(size) over \(input.channels) in \(groups)\(batchNormalize ? " with" : " without"): they must be equal to share weights")
        }
        return other.sharedParameters ?? index
    }

    public var weightCount: Int { filters * fanIn }
    /// Inputs each output sums over.
    var fanIn: Int { input.channels / groups * size * size }

    /// What it stores: nothing when it shares another layer's (`share_index`).
    var weightArrays: [WeightArray] { sharedParameters == nil ? parameterArrays : [] }

    /// The arrays it binds, in Darknet's file order: its own, or those of `sharedParameters`.
    var parameterArrays: [WeightArray] {
        if batchNormalize {
            return [WeightArray(role: .normBias, count: filters), WeightArray(role: .normScale, count: filters),
                    WeightArray(role: .rollingMean, count: filters), WeightArray(role: .rollingVariance, count: filters),
                    WeightArray(role: .weights, count: weightCount, fanIn: fanIn)]
        }
        return [WeightArray(role: .bias, count: filters), WeightArray(role: .weights, count: weightCount, fanIn: fanIn)]
    }

    /// Conv (folded, activated, normalised across channels); antialiased, at stride 1 and then
    /// the blur as a depthwise Conv of fixed kernels with the strides.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        guard antialiasing != 0 else { return graph.convolution(self, graph.input) }
        let full = graph.convolution(convolutionStage, graph.input)
        let blur = blurStage
        let kernels = graph.constant(Array((0..<filters).map { _ in blur.blurTaps }.joined()), [filters, 1, blur.size, blur.size], "blur")
        return graph.node("Conv", [full, kernels], [
            .ints("kernel_shape", [blur.size, blur.size]), .ints("strides", [strideY, stride]),
            .ints("pads", Array(repeating: blur.padding, count: 4)), .int("group", filters),
        ])
    }

    var macs: Int {
        guard antialiasing != 0 else { return output.height * output.width * weightCount }
        return convolutionStage.macs + blurStage.macs
    }
    /// AlexeyAB counts an antialiased convolution at stride 1, without its blur.
    var bflops: Double { 2 * Double(antialiasing != 0 ? convolutionStage.macs : macs) / 1e9 }
    var summaryFilters: String { groups == 1 ? "\(filters)" : "\(filters)/\(groups)" }
    var summarySize: String {
        "\(size)×\(size)/\(stride)" + (strideY != stride ? "×\(strideY)" : "") + (dilation > 1 ? " d\(dilation)" : "") + (antialiasing != 0 ? " aa\(antialiasing)" : "")
    }
}
