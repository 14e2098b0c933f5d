import Glibc

extension Activation {
    /// Darknet's `gradient` (activations.h) at the activation's output `y` (AlexeyAB's for
    /// relu6); nil for swish, mish, gelu and hard_mish, whose gradient needs their input
    /// (`gradient(input:output:)`).
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
        case .relu6: return (y > 0 && y < 6) ? 1 : 0
        case .swish, .mish, .gelu, .hardMish: return nil
        }
    }

    /// Whether the gradient needs the activation's input, which the layer must then keep.
    var needsInput: Bool { gradient(output: 0) == nil }

    /// The gradient at input `x` and output `y`: AlexeyAB's of swish (y + σ(x)·(1 − y)), mish
    /// (TensorFlow's form, softplus with threshold 20), hard_mish and gelu; Darknet's otherwise.
    func gradient(input x: Float, output y: Float) -> Float {
        switch self {
        case .swish:
            let sigmoid = 1 / (1 + expf(-x))
            return y + sigmoid * (1 - y)
        case .mish:
            let softplus = x > 20 ? x : (x < -20 ? expf(x) : log1pf(expf(x)))
            let tsp = tanhf(softplus)
            return x * (1 - tsp * tsp) * -expm1f(-softplus) + tsp
        case .hardMish: // AlexeyAB's hard_mish_yashas_grad
            return x > 0 ? 1 : x > -2 ? x + 1 : 0
        case .gelu: // AlexeyAB's gelu_gradient, the derivative of its tanh approximation
            let inner = 0.0356774 * x * x * x + 0.797885 * x
            let sech = 1 / coshf(inner)
            return 0.5 * tanhf(inner) + (0.0535161 * x * x * x + 0.398942 * x) * sech * sech + 0.5
        case .linear, .leaky, .logistic, .relu, .elu, .selu, .relie, .ramp, .tanh, .plse, .stair, .hardtan, .lhtan, .loggy, .relu6:
            return gradient(output: y)!
        }
    }

    /// Refuses, naming `kind`, an activation whose gradient needs an input the kind does not keep.
    func requireOutputGradient(in kind: String) throws {
        guard !needsInput else {
            throw TrainingUnsupported(reason: "[\(kind)] activation=\(rawValue) has no backward pass in this layer yet")
        }
    }

    /// `gradient_array`: `delta` times the gradient at each of `output`'s values (and, for the
    /// activations that need it, `input`'s).
    func multiplyGradient(_ output: UnsafePointer<Float>, input: UnsafePointer<Float>? = nil,
                          into delta: UnsafeMutablePointer<Float>, count: Int) {
        guard self != .linear else { return }
        let needsInput = needsInput
        // Over the cores: the gradients of swish and mish take an exponential each.
        Parallel.forEach(count, work: needsInput ? 16 * count : count) { range in
            if needsInput {
                for i in range { delta[i] *= gradient(input: input![i], output: output[i]) }
            } else {
                for i in range { delta[i] *= gradient(output: output[i])! }
            }
        }
    }
}
