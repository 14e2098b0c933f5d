/// Darknet's activations (`activations.c`) plus relu6, swish and mish from later forks.
public enum Activation: String, CaseIterable, Sendable {
    case linear, leaky, logistic, relu, elu, selu, relie, ramp, tanh, plse, stair, hardtan, lhtan, loggy
    case relu6, swish, mish

    /// Other spellings accepted in cfg text.
    static let aliases: [String: Activation] = ["silu": .swish]
}
