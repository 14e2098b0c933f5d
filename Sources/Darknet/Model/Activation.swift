/// Darknet's activations (`activations.c`) plus those of later forks: relu6, and AlexeyAB's
/// swish, mish, hard_mish and gelu. Each acts on one value at a time.
public enum Activation: String, CaseIterable, Sendable {
    case linear, leaky, logistic, relu, elu, selu, relie, ramp, tanh, plse, stair, hardtan, lhtan, loggy
    case relu6, swish, mish, gelu
    case hardMish = "hard_mish"

    /// Other spellings accepted in cfg text.
    static let aliases: [String: Activation] = ["silu": .swish, "revleaky": .leaky] // revleaky: AlexeyAB's, computed as leaky
}

/// AlexeyAB's activations that act across the channels of each pixel (`activations.c:
/// activate_array_normalize_channels*`). Its CPU build computes them only in `[convolutional]`
/// (every other layer outputs 0 for them), so only `[convolutional]` accepts them here.
public enum ChannelNormalization: String, CaseIterable, Sendable {
    /// x_c > 0 ? x_c / (1e-4 + Σ_k max(x_k, 0)) : 0
    case normalizeChannels = "normalize_channels"
    /// e^(x_c) / (1e-4 + Σ_k e^(x_k))
    case softmax = "normalize_channels_softmax"
    /// e^(x_c − m) / (1e-4 + Σ_k e^(x_k − m)), m the largest x_k of the pixel
    case softmaxMaxValue = "normalize_channels_softmax_maxval"
}
