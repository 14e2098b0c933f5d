import Glibc

/// SplitMix64: small, fast, and the same sequence on every platform.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }
}

/// Deterministic random weights whose activations stay O(1) through deep networks.
///
/// Kernels are variance-preserving uniform draws; batch-norm γ, β are drawn near 1 and 0. The
/// rolling statistics are then calibrated: the network runs once on a random input, and before
/// each batch-norm is applied, its mean and variance are set from what that convolution really
/// produced, plus noise, so that mean subtraction and scaling are exercised. (Darknet's own
/// random init leaves the variance at 0 and overflows by layer 12.) Each filter is rescaled on
/// the way so that its raw output has unit variance.
public enum RandomWeights {
    public static func make(for definition: NetworkDefinition, seed: UInt64 = 1) throws -> NetworkWeights {
        var random = SplitMix64(state: seed)
        var floats: [Float] = []
        floats.reserveCapacity(definition.storedFloats)
        for layer in definition.layers {
            for array in layer.weightArrays {
                switch array.role {
                case .weights:
                    let bound = (3 / Float(max(array.fanIn, 1))).squareRoot()
                    for _ in 0..<array.count { floats.append(random.uniform(-bound, bound)) }
                case .bias: for _ in 0..<array.count { floats.append(random.uniform(-0.1, 0.1)) }
                case .normBias: for _ in 0..<array.count { floats.append(random.uniform(-0.2, 0.2)) }
                case .normScale: for _ in 0..<array.count { floats.append(random.uniform(0.5, 1.5)) }
                case .rollingMean: floats += repeatElement(0, count: array.count)
                case .rollingVariance: floats += repeatElement(1, count: array.count)
                case .learned: for _ in 0..<array.count { floats.append(random.uniform(-0.2, 0.2)) } // [implicit]'s default std
                case .mixingWeights: floats += repeatElement(1, count: array.count) // Darknet's initial weights
                }
            }
        }

        let storage = ParameterStore(floats)
        // Calibration rescales kernels as it goes: the direct path reads them as they are.
        let network = try Network(definition: definition, parameters: storage, header: header(for: definition.dialect), winograd: false)
        let context = InferenceContext(network, batch: 1)
        let input = (0..<definition.input.count).map { _ in random.uniform(0, 1) }
        input.withUnsafeBufferPointer { pointer in
            _ = context.forward(pointer.baseAddress!) { convolution, raw, batch in
                // A layer sharing another's kernels (share_index) leaves them as that one scaled them.
                guard let mean = convolution.mean, let variance = convolution.variance,
                      convolution.spec.sharedParameters == nil else { return }
                let spec = convolution.spec
                let spatial = spec.output.height * spec.output.width
                let kernel = spec.weightCount / spec.filters
                for c in 0..<spec.filters {
                    var sum: Double = 0, squares: Double = 0
                    for image in 0..<batch {
                        let plane = raw + image * convolution.floatsPerImage + c * spatial
                        for i in 0..<spatial { sum += Double(plane[i]); squares += Double(plane[i]) * Double(plane[i]) }
                    }
                    let n = Double(batch * spatial)
                    var m = sum / n
                    let v = squares / n - m * m
                    // Rescale the filter so that its raw output has unit variance: batch-norm then
                    // divides by ≈ 1, where Darknet's (√var + 1e-6) and PyTorch's √(var + 1e-5)
                    // agree to 1e-5, and no channel is left with a vanishing variance.
                    if v > 1e-12 {
                        let scale = Float(1 / v.squareRoot())
                        for i in 0..<kernel { convolution.weights[c * kernel + i] *= scale }
                        for image in 0..<batch {
                            let plane = raw + image * convolution.floatsPerImage + c * spatial
                            for i in 0..<spatial { plane[i] *= scale }
                        }
                        m *= Double(scale)
                    }
                    mean[c] = Float(m) + random.uniform(-0.1, 0.1)
                    variance[c] = random.uniform(0.8, 1.25)
                }
            }
        }
        return network.weights
    }

    /// The version the dialect's darknet writes: 0.2.5 for AlexeyAB's, 0.2.0 for Darknet's.
    static func header(for dialect: Dialect) -> WeightsHeader {
        switch dialect {
        case .alexeyab: WeightsHeader(major: 0, minor: 2, revision: 5)
        case .darknet: WeightsHeader(major: 0, minor: 2, revision: 0)
        }
    }

    /// The weights Darknet gives a new network before training (`make_convolutional_layer`,
    /// `make_connected_layer`): convolution kernels sqrt(2 / fan-in) · N(0, 1), connected
    /// weights sqrt(2 / inputs) · U(−1, 1), biases and β 0, γ 1, rolling mean 0. The rolling
    /// variance is 1, not Darknet's 0: training replaces it by 1 % a forward pass, and a
    /// validation before that would divide by √0 + 1e-6.
    public static func initial(for definition: NetworkDefinition, seed: UInt64) throws -> NetworkWeights {
        var random = SplitMix64(state: seed)
        var floats: [Float] = []
        floats.reserveCapacity(definition.storedFloats)
        for layer in definition.layers {
            let uniformWeights = if case .connected = layer.spec { true } else { false }
            for array in layer.weightArrays {
                switch array.role {
                case .weights:
                    let scale = (2 / Float(max(array.fanIn, 1))).squareRoot()
                    for _ in 0..<array.count {
                        floats.append(scale * (uniformWeights ? random.uniform(-1, 1) : random.normal()))
                    }
                case .bias, .normBias, .rollingMean: floats += repeatElement(0, count: array.count)
                case .normScale, .rollingVariance: floats += repeatElement(1, count: array.count)
                case .learned: floats += repeatElement(0, count: array.count) // [implicit]'s default mean
                case .mixingWeights: floats += repeatElement(1, count: array.count)
                }
            }
        }
        return try NetworkWeights(header: header(for: definition.dialect), floats: floats, for: definition)
    }
}

extension SplitMix64 {
    /// A standard normal draw (Box–Muller, as Darknet's `rand_normal`).
    mutating func normal() -> Float {
        let u = Double(next() >> 11 | 1) / Double(1 << 53), v = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}
