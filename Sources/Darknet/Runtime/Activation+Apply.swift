import Glibc

extension Activation {
    /// Darknet's formulas (activations.h); tanh uses the C library's, which does not overflow to NaN.
    @inline(__always)
    func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .linear: return x
        case .leaky: return x > 0 ? x : 0.1 * x
        case .logistic: return 1 / (1 + Glibc.exp(-x))
        case .relu: return x > 0 ? x : 0
        case .elu: return x >= 0 ? x : Glibc.exp(x) - 1
        case .selu: return x >= 0 ? 1.0507 * x : 1.0507 * 1.6732 * (Glibc.exp(x) - 1)
        case .relie: return x > 0 ? x : 0.01 * x
        case .ramp: return (x > 0 ? x : 0) + 0.1 * x
        case .tanh: return Glibc.tanh(x)
        case .plse:
            if x < -4 { return 0.01 * (x + 4) }
            if x > 4 { return 0.01 * (x - 4) + 1 }
            return 0.125 * x + 0.5
        case .stair:
            // Darknet's int n = floor(x), its parity taken on the float: no conversion that
            // traps beyond Int's range or on NaN (a float that large is even anyway).
            let n = x.rounded(.down)
            let odd = n.isFinite && n.truncatingRemainder(dividingBy: 2) != 0
            return odd ? (x - n) + (x / 2).rounded(.down) : (x / 2).rounded(.down)
        case .hardtan: return min(max(x, -1), 1)
        case .lhtan:
            if x < 0 { return 0.001 * x }
            if x > 1 { return 0.001 * (x - 1) + 1 }
            return x
        case .loggy: return 2 / (1 + Glibc.exp(-x)) - 1
        case .relu6: return min(max(x, 0), 6)
        case .swish: return x / (1 + Glibc.exp(-x))
        case .mish: // AlexeyAB's softplus is x above 20 and e^x below −20, which log1p(e^x) rounds to
            let softplus = x > 20 ? x : Glibc.log1p(Glibc.exp(x))
            return x * Glibc.tanh(softplus)
        case .hardMish: return x > 0 ? x : x > -2 ? x * x / 2 + x : 0
        case .gelu: // AlexeyAB's tanh approximation, with its rounded constants
            return 0.5 * x * (1 + Glibc.tanh(0.797885 * x + 0.035677 * x * x * x))
        }
    }

    /// Applies the activation in place, with the vectorised loops of `Kernels.affineActivate`.
    func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        guard self != .linear else { return }
        Kernels.affineActivate(values, count: count, multiplier: 1, shift: 0, activation: self)
    }
}
