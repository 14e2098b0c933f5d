import Foundation
import XCTest
import Darknet

/// Every activation against its formula evaluated in float64, through the runtime's own path:
/// a 1×1 convolution with weight 1 and bias 0, which passes each float32 input on exactly.
final class ActivationTests: XCTestCase {
    /// Darknet's formulas (activations.h; relu6, swish and mish as the later forks define them),
    /// written here apart from the library. Darknet's C constants (.1, .01, 1.0507, …) are doubles.
    static func formula(_ activation: Activation) -> (Double) -> Double {
        func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        switch activation {
        case .linear: return { $0 }
        case .logistic: return logistic
        case .relu: return { $0 > 0 ? $0 : 0 }
        case .relie: return { $0 > 0 ? $0 : 0.01 * $0 }
        case .ramp: return { ($0 > 0 ? $0 : 0) + 0.1 * $0 }
        case .tanh: return { Foundation.tanh($0) }
        case .plse: return { $0 < -4 ? 0.01 * ($0 + 4) : $0 > 4 ? 0.01 * ($0 - 4) + 1 : 0.125 * $0 + 0.5 }
        case .leaky: return { $0 > 0 ? $0 : 0.1 * $0 }
        case .elu: return { $0 >= 0 ? $0 : exp($0) - 1 }
        case .loggy: return { 2 * logistic($0) - 1 }
        case .stair:
            // n = ⌊x⌋; an even n gives ⌊x/2⌋, an odd one (C's n % 2 ≠ 0, negative too) adds x − n.
            return { x in
                let n = x.rounded(.down)
                return n.truncatingRemainder(dividingBy: 2) == 0 ? (x / 2).rounded(.down) : (x - n) + (x / 2).rounded(.down)
            }
        case .hardtan: return { min(max($0, -1), 1) }
        case .lhtan: return { $0 < 0 ? 0.001 * $0 : $0 > 1 ? 0.001 * ($0 - 1) + 1 : $0 }
        case .selu: return { $0 >= 0 ? 1.0507 * $0 : 1.0507 * 1.6732 * (exp($0) - 1) }
        case .relu6: return { min(max($0, 0), 6) }
        case .swish: return { $0 * logistic($0) }
        case .mish: return { $0 * Foundation.tanh(log1p(exp($0))) }
        case .hardMish: return { $0 > 0 ? $0 : $0 > -2 ? $0 * $0 / 2 + $0 : 0 }
        case .gelu: return { 0.5 * $0 * (1 + Foundation.tanh(0.797885 * $0 + 0.035677 * $0 * $0 * $0)) }
        }
    }

    /// Negative and positive, zero, fractions, every integer and half in ±40 (stair's steps,
    /// plse's ±4, relu6's 6, mish's switch at 20), where exp over- and underflows in float32
    /// (±87, ±89, ±100) and large magnitudes, past Int's range too (stair once converted to Int).
    static let inputs: [Float] = {
        var values = Array(stride(from: Float(-40), through: 40, by: 0.5)) + Array(stride(from: Float(-3), through: 3, by: 0.0625))
        for magnitude: Float in [1e-7, 1e-3, 0.3, 0.999, 1.001, 3.999, 4.001, 5.999, 6.001, 19.99, 20.01, 20.5, 87, 89, 100, 1e4, 1e6, 1e9, 1e20] {
            values += [magnitude, -magnitude]
        }
        return values + [0, -0.0]
    }()

    func network(_ activation: Activation) throws -> Network {
        let cfg = "[net]\nwidth=\(Self.inputs.count)\nheight=1\nchannels=1\n[convolutional]\nfilters=1\nsize=1\nactivation=\(activation.rawValue)\n"
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "\(activation).cfg"))
        return try Network(definition: definition, weights: NetworkWeights(header: WeightsHeader(), floats: [0, 1], for: definition))
    }

    /// Within 1e-6·max(1, |exact|): about 8 float32 ulps of the result. The runtime evaluates each
    /// formula in float32 (its constants rounded to float32, exp within 2e-7 relative); where a
    /// result is near 0 after a subtraction (elu, selu, loggy just below 0), its float32
    /// operands near 1 carry an error of about 1e-7, hence the absolute floor.
    func testEveryActivationFollowsItsFormula() throws {
        for activation in Activation.allCases {
            let formula = Self.formula(activation)
            let input = Tensor(shape: [1, 1, Self.inputs.count], data: Self.inputs)
            let outputs = try network(activation).forward(input)
            let got = try XCTUnwrap(outputs[0]).data
            var worst = (excess: -Double.infinity, index: 0)
            for (index, x) in Self.inputs.enumerated() {
                let exact = formula(Double(x))
                let excess = abs(Double(got[index]) - exact) / (1e-6 * max(1, abs(exact)))
                if !(excess <= worst.excess) { worst = (excess.isNaN ? .infinity : excess, index) }
            }
            let x = Self.inputs[worst.index]
            XCTAssertLessThanOrEqual(worst.excess, 1, "\(activation)(\(x)) = \(got[worst.index]); the formula gives \(formula(Double(x)))")
        }
    }

    /// A few values worked out by hand, so that a slip in a formula above cannot go unseen.
    func testFormulasAtHandWorkedPoints() {
        let cases: [(Activation, Double, Double)] = [
            (.leaky, -2, -0.2), (.relie, -2, -0.02), (.ramp, -2, -0.2), (.ramp, 2, 2.2), (.plse, -6, -0.02),
            (.plse, 0, 0.5), (.plse, 6, 1.02), (.stair, 3.5, 1.5), (.stair, 2.5, 1), (.stair, -1.5, -1), (.stair, -0.5, -0.5),
            (.hardtan, -3, -1), (.lhtan, 2, 1.001), (.lhtan, -2, -0.002), (.relu6, 7, 6), (.swish, 0, 0),
            (.logistic, 0, 0.5), (.loggy, 0, 0), (.elu, 0, 0), (.selu, 1, 1.0507), (.mish, 0, 0),
            (.hardMish, -1, -0.5), (.hardMish, -2, 0), (.hardMish, 3, 3), (.gelu, 0, 0), (.gelu, -20, 0),
        ]
        for (activation, x, expected) in cases {
            XCTAssertEqual(Self.formula(activation)(x), expected, accuracy: 1e-12, "\(activation)(\(x))")
        }
    }

    /// AlexeyAB's normalizations across channels, against the formulas in float64: a 1×1
    /// convolution with identity weights passes 5 channels × 7 pixels on, then normalizes.
    func testChannelNormalizationsFollowTheirFormulas() throws {
        let (channels, pixels) = (5, 7)
        let values: [Float] = (0..<(channels * pixels)).map { Float(($0 * 37) % 23) * 0.75 - 8 }
        var weights = [Float](repeating: 0, count: channels * channels)
        for c in 0..<channels { weights[c * channels + c] = 1 }
        for normalization in ChannelNormalization.allCases {
            let cfg = "[net]\nwidth=\(pixels)\nheight=1\nchannels=\(channels)\n[convolutional]\nfilters=\(channels)\nsize=1\nactivation=\(normalization.rawValue)\n"
            let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "\(normalization).cfg"))
            let network = try Network(definition: definition, weights: NetworkWeights(
                header: WeightsHeader(), floats: [Float](repeating: 0, count: channels) + weights, for: definition))
            let got = try XCTUnwrap(network.forward(Tensor(shape: [channels, 1, pixels], data: values))[0]).data
            for p in 0..<pixels {
                let x = (0..<channels).map { Double(values[$0 * pixels + p]) }
                let terms: [Double]
                switch normalization {
                case .normalizeChannels: terms = x.map { max($0, 0) }
                case .softmax: terms = x.map { exp($0) }
                case .softmaxMaxValue: terms = x.map { exp($0 - x.max()!) }
                }
                let sum = 0.0001 + terms.reduce(0, +)
                for c in 0..<channels {
                    XCTAssertEqual(Double(got[c * pixels + p]), terms[c] / sum, accuracy: 1e-6, "\(normalization) channel \(c) pixel \(p)")
                }
            }
        }
    }

    /// AlexeyAB's revleaky computes leaky (activations.c: the same case).
    func testRevleakyIsLeaky() throws {
        let cfg = "[net]\nwidth=2\nheight=1\nchannels=1\n[activation]\nactivation=revleaky\n"
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "r.cfg"))
        guard case .activation(let layer) = definition.layers[0].spec else { return XCTFail() }
        XCTAssertEqual(layer.activation, .leaky)
    }

    /// Outside [convolutional] AlexeyAB's CPU build outputs 0 for them: refused with the line.
    func testChannelNormalizationOutsideConvolutionIsAnError() {
        let cfg = "[net]\nwidth=4\nheight=4\nchannels=3\n[activation]\nactivation=normalize_channels\n"
        XCTAssertThrowsError(try NetworkDefinition(cfg: CfgFile(text: cfg, path: "a.cfg"))) { error in
            XCTAssertTrue("\(error)".contains("a.cfg:6: error: [activation] activation=normalize_channels: normalize_channels acts across channels"), "\(error)")
        }
    }
}
