extension Activation {
    /// Darknet's `gradient` (activations.h) of the activation at its output `y`; nil for the
    /// activations Darknet's CPU code has no gradient for (relu6, swish, mish).
    func gradient(output y: Float) -> Float? {
        switch self {
        case .linear: return 1
        case .leaky: return y > 0 ? 1 : 0.1
        case .logistic: return (1 - y) * y
        case .relu: return y > 0 ? 1 : 0
        case .elu: return (y >= 0 ? 1 : 0) + (y < 0 ? y + 1 : 0)
        case .selu: return (y >= 0 ? 1.0507 : 0) + (y < 0 ? y + 1.0507 * 1.6732 : 0)
        case .relie: return y > 0 ? 1 : 0.01
        case .ramp: return (y > 0 ? 1 : 0) + 0.1
        case .tanh: return 1 - y * y
        case .plse: return (y < 0 || y > 1) ? 0.01 : 0.125
        case .stair: return y.rounded(.down) == y ? 0 : 1
        case .hardtan: return (y > -1 && y < 1) ? 1 : 0
        case .lhtan: return (y > 0 && y < 1) ? 1 : 0.001
        case .loggy:
            let half = (y + 1) / 2
            return 2 * (1 - half) * half
        case .relu6, .swish, .mish: return nil
        }
    }

    /// Refuses, naming `kind`, an activation training cannot take the gradient of.
    func requireGradient(in kind: String) throws {
        guard gradient(output: 0) != nil else {
            throw TrainingUnsupported(reason: "[\(kind)] activation=\(rawValue) has no gradient in Darknet's CPU code")
        }
    }

    /// `gradient_array`: `delta` times the gradient at each of `output`'s values.
    func multiplyGradient(_ output: UnsafePointer<Float>, into delta: UnsafeMutablePointer<Float>, count: Int) {
        guard self != .linear else { return }
        for i in 0..<count { delta[i] *= gradient(output: output[i])! }
    }
}
