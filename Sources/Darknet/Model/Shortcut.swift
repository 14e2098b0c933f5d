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
}
