/// `[connected]` (alias `[conn]`): a fully connected layer over the flattened input.
public struct Connected: Kind {
    static let sectionNames = ["connected", "conn"]
    var spec: LayerSpec { .connected(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }

    public var inputs: Int
    public var outputs: Int
    public var batchNormalize: Bool
    public var activation: Activation
    /// The layer's factor of the network's learning rate (its `learning_rate`, default 1).
    public var learningRateScale: Float
    public var output: Shape { Shape(channels: outputs, height: 1, width: 1) }

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        inputs = context.input.count
        outputs = try r.int("output", default: 1, in: 1...Int(Int32.max))
        batchNormalize = try r.bool("batch_normalize")
        activation = try r.activation(default: .logistic) // Darknet's default
        learningRateScale = try r.float("learning_rate", default: 1)
        _ = try context.floats([inputs, outputs], "weights", in: r)
    }

    // Darknet's order: biases, weights, then (with batch-norm) scales and rolling statistics.
    var weightArrays: [WeightArray] {
        var arrays = [WeightArray(role: batchNormalize ? .normBias : .bias, count: outputs),
                      WeightArray(role: .weights, count: inputs * outputs, fanIn: inputs)]
        if batchNormalize {
            arrays += [WeightArray(role: .normScale, count: outputs), WeightArray(role: .rollingMean, count: outputs),
                       WeightArray(role: .rollingVariance, count: outputs)]
        }
        return arrays
    }

    /// x·Wᵀ + b over the flattened input (batch-norm folded in), as (batch, outputs, 1, 1).
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let (weights, biases) = graph.folded(graph.take(weightArrays), outputs: outputs)
        let flat = graph.node("Flatten", [graph.input], [.int("axis", 1)])
        let product = graph.node("Gemm", [flat, graph.constant(weights, [outputs, inputs], "weights"), graph.constant(biases, [outputs], "biases")],
                                 [.int("transB", 1)])
        return graph.activation(activation, graph.reshape(product, [outputs, 1, 1]))
    }

    var macs: Int { inputs * outputs }
    var summaryFilters: String { "\(outputs)" }
}
