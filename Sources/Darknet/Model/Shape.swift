/// The shape of one image of a layer's output, Darknet's (c, h, w) in NCHW order.
public struct Shape: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var count: Int { channels * height * width }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// One array of floats a layer stores in a weights file, in file order.
public struct WeightArray: Sendable, Equatable {
    public enum Role: String, Sendable {
        /// Convolution or connected weights.
        case weights
        /// A real bias (a layer without batch-norm).
        case bias
        /// Batch-norm β: Darknet stores it as the layer's `biases`.
        case normBias
        /// Batch-norm γ (`scales`).
        case normScale
        case rollingMean
        case rollingVariance
        /// A learned tensor that is the layer's output (`[implicit]`).
        case learned
        /// The weights of a weighted `[shortcut]`'s terms.
        case mixingWeights
    }

    public var role: Role
    public var count: Int
    /// For `.weights`: the inputs each output sums over (random initialisation scales by it).
    var fanIn = 0

    /// Counted as a parameter by torchsummaryX (everything but running statistics).
    var isParameter: Bool { role != .rollingMean && role != .rollingVariance }
    /// Counted as a parameter by thop (convolution and connected weights and real biases).
    var isParameterWithoutNorm: Bool { role == .weights || role == .bias }
}
