/// `[softmax]` (alias `[soft]`): softmax over each of `groups` equal slices of the input.
public struct Softmax: Kind {
    static let sectionNames = ["softmax", "soft"]
    var spec: LayerSpec { .softmax(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var groups: Int
    public var temperature: Float
    /// Training computes no loss here (`noloss=1`).
    public var noLoss: Bool
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        output = context.input
        groups = try r.int("groups", default: 1, in: 1...Int(Int32.max))
        guard output.count % groups == 0 else {
            throw r.error("groups", "does not divide the \(output.count) inputs")
        }
        temperature = try r.float("temperature", default: 1)
        guard temperature != 0 else { throw r.error("temperature", "expected a non-zero value") }
        if try r.bool("spatial") { throw r.error("spatial", "spatial softmax is not supported") }
        noLoss = try r.bool("noloss")
        r.ignore(["tree"])
    }

    /// Softmax of x/temperature over each group: the groups as an axis of their own.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let grouped = graph.reshape(graph.scaled(graph.input, 1 / temperature), [groups, output.count / groups])
        let y = graph.node("Softmax", [grouped], [.int("axis", 2)])
        return graph.reshape(y, [output.channels, output.height, output.width])
    }
}

/// `[dropout]`: the identity at inference.
public struct Dropout: Kind {
    static let sectionNames = ["dropout"]
    var spec: LayerSpec { .dropout(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        output = context.input
        let probability = try r.float("probability", default: 0.5)
        guard (0..<1).contains(probability) else {
            throw r.error("probability", "expected a value in [0, 1)")
        }
    }

    func emitONNX(_ graph: inout ONNXGraph) throws -> String { graph.input }
}

/// `[batchnorm]`: a standalone batch-norm, `scales·(x − mean)/(sqrt(var) + 1e-6) + biases`
/// (the dialect's formula). Darknet stores scales and rolling statistics only, its biases stay
/// zero; AlexeyAB's stores the biases first.
public struct BatchNorm: Kind {
    static let sectionNames = ["batchnorm"]
    var spec: LayerSpec { .batchnorm(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }

    public var output: Shape
    /// AlexeyAB's layout: biases stored before the scales.
    public var storesBiases: Bool

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        output = context.input
        storesBiases = context.dialect == .alexeyab
    }

    var weightArrays: [WeightArray] {
        let statistics = [WeightArray(role: .normScale, count: output.channels), WeightArray(role: .rollingMean, count: output.channels),
                          WeightArray(role: .rollingVariance, count: output.channels)]
        return storesBiases ? [WeightArray(role: .normBias, count: output.channels)] + statistics : statistics
    }

    /// x·multiplier + shift per channel, as the runtime computes it (`Kernels.normalization`).
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let arrays = graph.take(weightArrays)
        let (scales, mean, variance) = (arrays[.normScale]!, arrays[.rollingMean]!, arrays[.rollingVariance]!)
        let affine = (0..<output.channels).map { Kernels.normalization(scale: scales[$0], mean: mean[$0], variance: variance[$0], bias: 0, dialect: graph.dialect) }
        let perChannel = [output.channels, 1, 1]
        let product = graph.node("Mul", [graph.input, graph.constant(affine.map(\.multiplier), perChannel, "multipliers")])
        return graph.node("Add", [product, graph.constant(affine.map(\.shift), perChannel, "shifts")])
    }
}

/// `[cost]`: the training loss; it passes its input through at inference.
public struct Cost: Kind {
    static let sectionNames = ["cost"]
    var spec: LayerSpec { .cost(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var output: Shape
    /// Darknet's `cost_type` name (`sse` by default), and the factor of its delta.
    public var type: String
    public var scale: Float

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        output = context.input
        type = r.string("type") ?? "sse"
        scale = try r.float("scale", default: 1)
        r.ignore(["ratio", "noobject_scale", "thresh"])
    }

    func emitONNX(_ graph: inout ONNXGraph) throws -> String { graph.input }
}
