import Glibc

/// `[net]`'s training keys, with Darknet's defaults (`parse_net_options`), and the learning
/// rate Darknet's `get_current_rate` gives at a batch number.
public struct TrainingOptions: Sendable, Equatable {
    public var learningRate: Float = 0.001
    public var momentum: Float = 0.9
    public var decay: Float = 0.0001
    public var adam = false
    public var b1: Float = 0.9
    public var b2: Float = 0.999
    public var eps: Float = 0.0000001
    public var burnIn = 0
    public var power: Float = 4
    public var policy: Policy = .constant
    public var maxBatches = 0
    /// Darknet runs `batch / subdivisions` images per forward pass and updates once per batch.
    public var subdivisions = 1
    public var augmentation = Augmentation()

    /// Darknet's learning-rate policies.
    public enum Policy: Sendable, Equatable {
        case constant
        case step(step: Int, scale: Float)
        case steps([(step: Int, scale: Float)])
        case exp(gamma: Float)
        case poly
        case sigmoid(gamma: Float, step: Int)
        /// AlexeyAB's cosine annealing with restarts: cycles of `cycle` batches, each
        /// `multiplier` times the one before, from `learning_rate` down to `minimum`.
        case sgdr(minimum: Float, cycle: Int, multiplier: Int)

        public static func == (a: Policy, b: Policy) -> Bool {
            switch (a, b) {
            case (.constant, .constant), (.poly, .poly): true
            case let (.step(s, x), .step(t, y)): s == t && x == y
            case let (.steps(s), .steps(t)): s.map(\.step) == t.map(\.step) && s.map(\.scale) == t.map(\.scale)
            case let (.exp(g), .exp(h)): g == h
            case let (.sigmoid(g, s), .sigmoid(h, t)): g == h && s == t
            case let (.sgdr(m, c, x), .sgdr(n, d, y)): m == n && c == d && x == y
            default: false
            }
        }
    }

    public init() {}

    /// Reads the keys from `[net]`; a policy Darknet does not know (or `random`, which draws
    /// from Darknet's generator) is an error rather than Darknet's silent constant.
    init(_ r: inout SectionReader) throws {
        learningRate = try r.float("learning_rate", default: learningRate)
        momentum = try r.float("momentum", default: momentum)
        decay = try r.float("decay", default: decay)
        adam = try r.bool("adam")
        b1 = try r.float("B1", default: b1)
        b2 = try r.float("B2", default: b2)
        eps = try r.float("eps", default: eps)
        burnIn = try r.int("burn_in", default: 0, in: 0...Int(Int32.max))
        power = try r.float("power", default: power)
        maxBatches = try r.int("max_batches", default: 0, in: 0...Int(Int32.max))
        subdivisions = try r.int("subdivisions", default: 1, in: 1...Int(Int32.max))
        augmentation = try Augmentation(&r)
        let name = r.string("policy") ?? "constant"
        switch name {
        case "constant": policy = .constant
        case "step":
            policy = .step(step: try r.int("step", default: 1, in: 1...Int(Int32.max)), scale: try r.float("scale", default: 1))
        case "steps":
            guard let steps = try r.ints("steps"), let scales = try r.floats("scales") else {
                throw r.error("policy", "policy=steps needs steps= and scales=")
            }
            guard steps.count == scales.count else {
                throw r.error("scales", "has \(scales.count) values for \(steps.count) steps")
            }
            policy = .steps(Array(zip(steps, scales)).map { (step: $0.0, scale: $0.1) })
        case "exp": policy = .exp(gamma: try r.float("gamma", default: 1))
        case "poly": policy = .poly
        case "sigmoid":
            policy = .sigmoid(gamma: try r.float("gamma", default: 1), step: try r.int("step", default: 1, in: 1...Int(Int32.max)))
        case "sgdr":
            // AlexeyAB's parser reads steps and scales for sgdr too; its rate does not use them.
            r.ignore(["steps", "scales"])
            policy = .sgdr(minimum: try r.float("learning_rate_min", default: 0.00001),
                           cycle: try r.int("sgdr_cycle", default: max(maxBatches, 1), in: 1...Int(Int32.max)),
                           multiplier: try r.int("sgdr_mult", default: 2, in: 1...Int(Int32.max)))
        default:
            throw r.error("policy", "\(name): expected constant, step, steps, exp, poly, sigmoid or sgdr")
        }
    }

    /// `get_current_rate` at `batchNumber` (seen / batch), in Darknet's mix of float and double.
    public func rate(batchNumber: Int) -> Float {
        if batchNumber < burnIn {
            return Float(Double(learningRate) * pow(Double(Float(batchNumber) / Float(burnIn)), Double(power)))
        }
        let rate = Double(learningRate)
        switch policy {
        case .constant: return learningRate
        case .step(let step, let scale): return Float(rate * pow(Double(scale), Double(batchNumber / step)))
        case .steps(let steps):
            var current = learningRate
            for (step, scale) in steps {
                if step > batchNumber { return current }
                current *= scale
            }
            return current
        case .exp(let gamma): return Float(rate * pow(Double(gamma), Double(batchNumber)))
        case .poly:
            return Float(rate * pow(Double(1 - Float(batchNumber) / Float(maxBatches)), Double(power)))
        case .sigmoid(let gamma, let step):
            return Float(rate * (1 / (1 + Glibc.exp(Double(gamma) * Double(batchNumber - step)))))
        case .sgdr(let minimum, var cycle, let multiplier):
            var start = 0
            while start + cycle < batchNumber {
                start += cycle
                cycle *= multiplier
            }
            let cosine = Glibc.cos(Double(Float(batchNumber - start) * 3.14159265 / Float(cycle)))
            return Float(Double(minimum) + 0.5 * (rate - Double(minimum)) * (1 + cosine))
        }
    }
}
