/// Images in, class probabilities out, as Darknet's `classifier valid` computes them: each image's
/// centre crop (`center_crop_image`, the preprocessing of validation in training), a forward
/// pass, the last layer's outputs (a `[cost]` passes its input through).
/// Holds one inference context per batch size; use one classifier per thread.
public final class Classifier {
    public let network: Network
    /// One per output, in output order.
    public let names: [String]
    private var contexts: [Int: InferenceContext] = [:]

    /// The outputs per image: the last layer's.
    public static func classes(of definition: NetworkDefinition) -> Int { definition.layers.last!.output.count }

    /// `names` must name every output of the network's last layer; without names, the outputs
    /// are named by their numbers.
    public init(network: Network, names: [String]? = nil) throws {
        let classes = Self.classes(of: network.definition)
        guard network.definition.input.channels == 3 else {
            throw Diagnostic(at: .file(network.definition.path), "the network reads \(network.definition.input.channels) channels; images give 3 (RGB)")
        }
        if let names, names.count != classes {
            throw Diagnostic(at: .file(network.definition.path),
                             "the network's last layer has \(classes) outputs but \(names.count) class names are given")
        }
        self.network = network
        self.names = names ?? (0..<classes).map(String.init)
    }

    /// Each image's probabilities (the last layer's outputs), the images run as one batch.
    public func classify(_ images: [Image]) -> [[Float]] {
        guard !images.isEmpty else { return [] }
        let input = network.definition.input
        let context = contexts[images.count] ?? InferenceContext(network, batch: images.count)
        contexts[images.count] = context
        let batch = images.flatMap { ClassifierPreprocessing.centerCrop($0, width: input.width, height: input.height).data }
        batch.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) }
        let last = network.definition.layers.count - 1
        let outputs = context.tensor(of: last).data
        let classes = names.count
        return images.indices.map { Array(outputs[($0 * classes)..<(($0 + 1) * classes)]) }
    }

    /// The `k` most probable classes, best first (ties: the lower class first; NaN last).
    public static func top(_ probabilities: [Float], _ k: Int) -> [(classID: Int, probability: Float)] {
        let key = { (p: Float) in p.isNaN ? -Float.infinity : p }
        return probabilities.enumerated().sorted { key($0.element) != key($1.element) ? key($0.element) > key($1.element) : $0.offset < $1.offset }
            .prefix(k).map { ($0.offset, $0.element) }
    }
}
