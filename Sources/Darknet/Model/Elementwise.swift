/// `[softmax]` (alias `[soft]`): softmax over each of `groups` equal slices of the input.
public struct Softmax: Kind {
    static let sectionNames = ["softmax", "soft"]
    var spec: LayerSpec { .softmax(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var groups: Int
    public var temperature: Float
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
        r.ignore(["tree", "noloss"])
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
}

/// `[cost]`: the training loss; it passes its input through at inference.
public struct Cost: Kind {
    static let sectionNames = ["cost"]
    var spec: LayerSpec { .cost(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        output = context.input
        r.ignore(["type", "scale", "ratio", "noobject_scale", "thresh"])
    }
}
