/// `[shortcut]`: `output = alpha·previous + beta·layers[from]`, then the activation.
///
/// Darknet's `shortcut_cpu` also adds layers of a different shape: over the smaller channel
/// count, sampling the larger spatial grid with a whole-number stride. Its resnet cfgs need it.
///
/// AlexeyAB's form: several layers in `from`, each of the input's height and width, added over
/// the channels both have; with `weights_type` each term (the input first, then each `from`) is
/// scaled by a stored weight, one per term (`per_feature`) or per term and channel
/// (`per_channel`), normalised across the terms by `weights_normalization`.
public struct Shortcut: Kind {
    static let sectionNames = ["shortcut"]
    var spec: LayerSpec { .shortcut(self) }

    public enum Weighting: String, Sendable {
        case none, perFeature = "per_feature", perChannel = "per_channel"
    }

    public enum Normalization: String, Sendable {
        /// max(w, 0)/(1e-4 + Σ max(w, 0)) across the terms (`relu` or `avg_relu`).
        case relu
        /// e^(w − max)/(1e-4 + Σ e^(w − max)) across the terms.
        case softmax
    }

    /// Absolute indices of the layers added to the input, in order.
    public var from: [Int]
    public var fromShapes: [Shape]
    public var weighting: Weighting
    /// With weights only: AlexeyAB's parser refuses weights without a normalisation.
    public var normalization: Normalization?
    public var activation: Activation
    public var alpha: Float
    public var beta: Float
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        guard let references = try r.ints("from"), !references.isEmpty else {
            throw r.error("from", "missing: a shortcut needs a layer to add")
        }
        from = try references.map { try context.resolve($0, key: "from", in: r) }
        fromShapes = from.map { context.previousOutputs[$0] }
        activation = try r.activation(default: .linear) // Darknet's default
        output = context.input
        let weightsType = r.string("weights_type") ?? "none"
        guard let weighting = weightsType == "per_layer" ? .perFeature : Weighting(rawValue: weightsType) else {
            throw r.error("weights_type", "expected none, per_feature, per_layer or per_channel")
        }
        self.weighting = weighting
        let normalizationName = r.string("weights_normalization")
        if weighting == .none {
            normalization = nil // AlexeyAB reads it only for weighted shortcuts
        } else {
            guard let normalization = normalizationName == "avg_relu" ? .relu : normalizationName.flatMap(Normalization.init) else {
                throw r.error("weights_normalization", "expected relu, avg_relu or softmax: AlexeyAB's darknet refuses weights_type=\(weightsType) without one")
            }
            self.normalization = normalization
        }
        alpha = try r.float("alpha", default: 1)
        beta = try r.float("beta", default: 1)
        if from.count == 1 && weighting == .none {
            // shortcut_cpu asserts that one grid is a whole multiple of the other in both directions.
            let (add, out) = (fromShapes[0], output)
            let compatible = add.width / out.width == add.height / out.height && out.width / add.width == out.height / add.height
            guard compatible else {
                throw r.error("from", "layer \(from[0]) is \(add) and the input is \(out): the spatial sizes must be equal or whole multiples of each other")
            }
            return
        }
        // AlexeyAB's multi-layer and weighted sums: no alpha or beta, equal grids.
        for key in ["alpha", "beta"] where r.has(key) {
            throw r.error(key, "AlexeyAB's shortcut with several layers or weights has no \(key)")
        }
        for (layer, shape) in zip(from, fromShapes) where shape.height != output.height || shape.width != output.width {
            throw r.error("from", "layer \(layer) is \(shape) and the input is \(output): a shortcut of several layers or with weights adds equal grids")
        }
    }

    func sources(at index: Int) -> [Int] { [index - 1] + from }

    /// Weights per term: one, or one per channel.
    var weightsPerTerm: Int { weighting == .perChannel ? output.channels : 1 }

    var weightArrays: [WeightArray] {
        weighting == .none ? [] : [WeightArray(role: .mixingWeights, count: (from.count + 1) * weightsPerTerm)]
    }

    /// AlexeyAB's count: one addition per output and `from` layer, two with weights.
    var bflops: Double { Double(output.count * from.count * (weighting == .none ? 1 : 2)) / 1e9 }
    var summaryFilters: String { from.map(String.init).joined(separator: ",") }
    var summarySize: String { weighting == .none ? "" : weighting.rawValue + " " + (normalization?.rawValue ?? "") }

    /// alpha·input + beta·add, then the activation. Shapes that differ add as `shortcut_cpu`
    /// does, over the common channels: a larger `from` grid is sampled every stride-th
    /// position (a strided slice); a smaller one is spread to every sample-th position of the
    /// input's grid, zeros between (interleaved by a reshape and a pad).
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        guard from.count == 1, weighting == .none else { return emitWeightedSum(&graph) }
        let (input, add, fromShape) = (graph.input, graph.output(of: from[0]), fromShapes[0])
        guard fromShape != output else {
            return graph.activation(activation, graph.node("Add", [graph.scaled(input, alpha), graph.scaled(add, beta)]))
        }
        let (c1, h1, w1) = (fromShape.channels, fromShape.height, fromShape.width)
        let (c2, h2, w2) = (output.channels, output.height, output.width)
        let (stride, sample) = (max(w1 / w2, 1), max(w2 / w1, 1))
        let common = min(c1, c2)
        var added = c1 > common ? graph.slice(add, axis: 1, 0..<common) : add
        if sample == 1 { // `from`'s grid is the larger: the input's channels beyond the common ones pass
            if stride > 1 {
                added = graph.slice(added, axis: 2, 0..<((h2 - 1) * stride + 1), step: stride)
                added = graph.slice(added, axis: 3, 0..<((w2 - 1) * stride + 1), step: stride)
            } else if h1 > h2 || w1 > w2 {
                added = graph.slice(graph.slice(added, axis: 2, 0..<h2), axis: 3, 0..<w2)
            }
            guard common < c2 else { return graph.activation(activation, graph.node("Add", [graph.scaled(input, alpha), graph.scaled(added, beta)])) }
            let sum = graph.node("Add", [graph.scaled(graph.slice(input, axis: 1, 0..<common), alpha), graph.scaled(added, beta)])
            return graph.activation(activation, graph.node("Concat", [sum, graph.slice(input, axis: 1, common..<c2)], [.int("axis", 1)]))
        }
        // The input's grid is the larger: add[k, j, i] goes to out[k, j·sample, i·sample].
        added = graph.reshape(added, [common, h1, 1, w1, 1])
        added = graph.pad(added, before: [0, 0, 0, 0, 0, 0], after: [0, 0, 0, sample - 1, 0, sample - 1])
        added = graph.reshape(added, [common, h1 * sample, w1 * sample])
        added = graph.pad(added, before: [0, 0, 0, 0], after: [0, c2 - common, h2 - h1 * sample, w2 - w1 * sample])
        var kept = input
        if alpha != 1 { // alpha only where something is added: the input times 1 + (alpha − 1)·mask
            let channels = graph.constant((0..<c2).map { $0 < common ? alpha - 1 : 0 }, [c2, 1, 1], "alpha")
            let positions = graph.constant((0..<(h2 * w2)).map { p -> Float in
                let (y, x) = (p / w2, p % w2)
                return y % sample == 0 && y / sample < h1 && x % sample == 0 && x / sample < w1 ? 1 : 0
            }, [1, h2, w2], "positions")
            kept = graph.node("Add", [input, graph.node("Mul", [input, graph.node("Mul", [channels, positions])])])
        }
        return graph.activation(activation, graph.node("Add", [kept, graph.scaled(added, beta)]))
    }

    /// AlexeyAB's sum (`weightedSum`): each term over the channels it has (sliced to the
    /// input's, zero-padded up to them), times its weights normalised at export (`termWeights`,
    /// per term or per term and channel), added, then the activation.
    private func emitWeightedSum(_ graph: inout ONNXGraph) -> String {
        let raw = weighting == .none ? nil : graph.take(weightArrays)[.mixingWeights]!
        let normalised = raw.map { raw in
            raw.withUnsafeBufferPointer { w in (0..<weightsPerTerm).map { Self.termWeights(self, w.baseAddress!, channel: $0) } }
        }
        let terms = [(graph.input, output.channels)] + zip(from, fromShapes).map { (graph.output(of: $0), $1.channels) }
        var sum: String?
        for (i, (value, channels)) in terms.enumerated() {
            let common = min(channels, output.channels)
            var term = channels > common ? graph.slice(value, axis: 1, 0..<common) : value
            if let normalised {
                term = weighting == .perChannel
                    ? graph.node("Mul", [term, graph.constant((0..<common).map { normalised[$0][i] }, [common, 1, 1], "weights")])
                    : graph.node("Mul", [term, graph.scalar(normalised[0][i])])
            }
            if common < output.channels {
                term = graph.pad(term, before: [0, 0, 0, 0], after: [0, output.channels - common, 0, 0])
            }
            sum = sum.map { graph.node("Add", [$0, term]) } ?? term
        }
        return graph.activation(activation, sum!)
    }
}
