import Foundation
import XCTest
@testable import Darknet

/// AlexeyAB's [yolo] keys, batch-norm formula and `[batchnorm]` layout, and the rule that picks
/// the dialect, on values worked out by hand from its formulas (yolo_layer.c, box.c, blas.c).
final class AlexeyABTests: XCTestCase {
    func definition(_ text: String, dialect: Dialect? = nil) throws -> NetworkDefinition {
        try NetworkDefinition(cfg: CfgFile(text: text, path: "ab.cfg"), options: DefinitionOptions(dialect: dialect))
    }

    func run(_ definition: NetworkDefinition, weights: [Float], input: [Float]) throws -> [Float] {
        let network = try Network(definition: definition, weights: NetworkWeights(header: WeightsHeader(), floats: weights, for: definition))
        let shape = definition.input
        let outputs = try network.forward(Tensor(shape: [shape.channels, shape.height, shape.width], data: input))
        return try XCTUnwrap(outputs[definition.layers.count - 1]).data
    }

    static let yolo = "[net]\nwidth=1\nheight=1\nchannels=6\n[yolo]\nclasses=1\nnum=1\nanchors=10,20\nscale_x_y=1.2\n"

    /// `init` writes the version the dialect's darknet writes: AlexeyAB's save_weights 0.2.5.
    func testRandomWeightsCarryTheDialectsVersion() throws {
        let text = "[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=2\nbatch_normalize=1\n"
        XCTAssertEqual(try RandomWeights.make(for: definition(text, dialect: .alexeyab)).header.version, "0.2.5")
        XCTAssertEqual(try RandomWeights.make(for: definition(text, dialect: .darknet)).header.version, "0.2.0")
        XCTAssertEqual(try RandomWeights.make(for: definition(text + "activation=mish\n")).header.version, "0.2.5")
    }

    /// x′ = 1.2·σ(t) − 0.1 on x and y; w, h raw; σ on objectness and class.
    func testScaleXY() throws {
        let out = try run(definition(Self.yolo), weights: [], input: [0.3, -1, 0.5, -0.5, 0, 2])
        let expected: [Double] = [0.5893310201739909, 0.2227297056439941, 0.5, -0.5, 0.5, 1 / (1 + exp(-2))]
        for (got, want) in zip(out, expected) { XCTAssertEqual(Double(got), want, accuracy: 1e-6) }
    }

    /// An antialiased convolution normalises its channels once, before the blur (AlexeyAB's blur
    /// layer is linear): pre-activations (0, ln 3) at each pixel give e^x/(1e-4 + Σ e^x),
    /// (1, 3)/4.0001, and the 2×2 mean of equal pixels keeps them (normalised again: 0.378, 0.622).
    func testAntialiasedChannelNormalizationRunsOnce() throws {
        let d = try definition("[net]\nwidth=2\nheight=2\nchannels=1\n[convolutional]\nfilters=2\nsize=1\nstride=2\nantialiasing=2\nactivation=normalize_channels_softmax\n")
        let out = try run(d, weights: [0, Float(log(3.0)), 0, 0], input: [1, 2, 3, 4])
        XCTAssertEqual(out.count, 2)
        for (got, want) in zip(out, [1 / 4.0001, 3 / 4.0001]) { XCTAssertEqual(Double(got), want, accuracy: 1e-6) }
    }

    /// new_coords=1: no logistic (the convolution before applies it), x′ = 1.2·t − 0.1, and
    /// w = 4·t²·anchor/W at decode.
    func testNewCoords() throws {
        let d = try definition(Self.yolo + "new_coords=1\n")
        let out = try run(d, weights: [], input: [0.3, 0.75, 0.5, 0.25, 0.9, 0.8])
        let expected: [Float] = [0.26, 0.8, 0.5, 0.25, 0.9, 0.8]
        for (got, want) in zip(out, expected) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        guard case .yolo(let spec) = d.layers[0].spec else { return XCTFail() }
        let candidates = out.withUnsafeBufferPointer {
            BoxDecoder.yolo(spec, output: $0.baseAddress!, network: Shape(channels: 6, height: 1, width: 1),
                            image: (100, 50), letterboxed: false, threshold: 0.5)
        }
        let box = try XCTUnwrap(candidates.first).box
        // Stretched: relative to the image as to the network; 4·0.5²·10/1 and 4·0.25²·20/1.
        for (got, want) in zip([box.x, box.y, box.w, box.h], [Float(0.26), 0.8, 10, 5]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        XCTAssertEqual(candidates.first?.probabilities.first ?? 0, 0.72, accuracy: 1e-6)
    }

    func testUnknownNMSKindIsAnError() {
        XCTAssertThrowsError(try definition(Self.yolo + "nms_kind=diou\n")) { error in
            XCTAssertEqual("\(error)", "ab.cfg:10: error: [yolo] nms_kind=diou: expected default, greedynms, diounms or cornersnms")
        }
    }

    /// Two boxes 0.1 apart: IoU 0.6; d²/c² = 0.01/0.41, so DIoU 0.49227 with exponent 0.6 and
    /// 0.27178 with 0.3. At nms 0.55 plain IoU suppresses the weaker box, greedynms keeps it.
    func testDistanceIoUSuppression() throws {
        let (a, b) = (Box(x: 0.5, y: 0.5, w: 0.4, h: 0.4), Box(x: 0.6, y: 0.5, w: 0.4, h: 0.4))
        XCTAssertEqual(a.distanceIoU(b, exponent: 0.6), 0.4922717, accuracy: 1e-6)
        XCTAssertEqual(a.distanceIoU(b, exponent: 0.3), 0.2717801, accuracy: 1e-6)
        let candidates = [Candidate(box: a, objectness: 0.9, probabilities: [0.9]), Candidate(box: b, objectness: 0.8, probabilities: [0.8])]
        let plain = BoxDecoder.nonMaximumSuppression(candidates, classes: 1, threshold: 0.55)
        XCTAssertEqual(plain.map { $0.probabilities[0] }, [0.9, 0])
        let greedy = BoxDecoder.nonMaximumSuppression(candidates, classes: 1, threshold: 0.55, suppression: .distanceIoU(exponent: 0.6))
        XCTAssertEqual(greedy.map { $0.probabilities[0] }, [0.9, 0.8])
        for (kind, expected) in [("greedynms", Yolo.Suppression.distanceIoU(exponent: 0.6)), ("diounms", .distanceIoU(exponent: 0.3)),
                                 ("cornersnms", .iou), ("default", .iou)] {
            guard case .yolo(let spec) = try definition(Self.yolo + "nms_kind=\(kind)\nbeta_nms=0.3\n").layers[0].spec else { return XCTFail() }
            XCTAssertEqual(spec.suppression, expected, kind)
        }
    }

    /// A 1×1 convolution (weight 1) with batch-norm bias 0.25, scale 3, mean 0.5, variance 1e-4
    /// on x = 2: AlexeyAB 1.5·3/√(1e-4 + 1e-5) + 0.25 = 429.308; Darknet 1.5·3/(0.01 + 1e-6) + 0.25 = 450.205.
    func testBatchNormFormulaFollowsTheDialect() throws {
        let cfg = "[net]\nwidth=1\nheight=1\nchannels=1\n[convolutional]\nfilters=1\nsize=1\nbatch_normalize=1\nactivation=linear\n"
        for (dialect, expected) in [(Dialect.alexeyab, Float(429.30817)), (.darknet, 450.2050)] {
            let out = try run(definition(cfg, dialect: dialect), weights: [0.25, 3, 0.5, 1e-4, 1], input: [2])
            XCTAssertEqual(out[0], expected, accuracy: 2e-3, "\(dialect)")
        }
    }

    /// AlexeyAB's `[batchnorm]` stores biases, scales, mean and variance (4·C floats),
    /// Darknet's scales, mean and variance (3·C).
    func testStandaloneBatchNormLayout() throws {
        let cfg = "[net]\nwidth=1\nheight=1\nchannels=2\n[batchnorm]\n"
        let ab = try definition(cfg, dialect: .alexeyab)
        XCTAssertEqual(ab.storedFloats, 8)
        let out = try run(ab, weights: [0.25, -1, 3, 2, 0.5, 0, 1e-4, 4], input: [2, 1])
        XCTAssertEqual(out[0], 429.30817, accuracy: 2e-3)
        XCTAssertEqual(Double(out[1]), -1 + 2 * 1 / (4.00001).squareRoot(), accuracy: 1e-6)
        let darknet = try definition(cfg, dialect: .darknet)
        XCTAssertEqual(darknet.storedFloats, 6)
        let plain = try run(darknet, weights: [3, 2, 0.5, 0, 1e-4, 4], input: [2, 1])
        XCTAssertEqual(plain[0], 449.9550, accuracy: 2e-3) // no bias
        XCTAssertEqual(Double(plain[1]), 2 * 1 / (2 + 1e-6), accuracy: 1e-6)
    }

    /// The rule: an option wins; else the first AlexeyAB-only section, key or activation makes
    /// the cfg AlexeyAB's; `letter_box=` decides the resize when given, else the dialect.
    func testDialectRule() throws {
        let plain = "[net]\nwidth=4\nheight=4\nchannels=3\n[convolutional]\nfilters=2\nactivation=leaky\n"
        let d = try definition(plain)
        XCTAssertEqual(d.dialect, .darknet)
        XCTAssertEqual(d.dialectReason, .noAlexeyABFeature)
        XCTAssertEqual(d.defaultResize, .letterbox)
        let mish = try definition(plain + "[convolutional]\nfilters=2\nactivation=mish\n")
        XCTAssertEqual(mish.dialect, .alexeyab)
        XCTAssertEqual(mish.dialectReason.description, "from activation=mish at line 10, which only AlexeyAB's darknet reads")
        XCTAssertEqual(mish.defaultResize, .stretch)
        XCTAssertEqual(try definition(Self.yolo).dialectReason, .alexeyabOnly("[yolo] scale_x_y", line: 9))
        XCTAssertEqual(try definition(Self.yolo, dialect: .darknet).dialect, .darknet)
        let boxed = try definition(Self.yolo.replacingOccurrences(of: "channels=6\n", with: "channels=6\nletter_box=1\n"))
        XCTAssertEqual(boxed.dialectReason, .alexeyabOnly("[net] letter_box", line: 5))
        XCTAssertEqual(boxed.defaultResize, .letterbox)
        let stretched = try definition(plain.replacingOccurrences(of: "channels=3\n", with: "channels=3\nletter_box=0\n"), dialect: .darknet)
        XCTAssertEqual(stretched.defaultResize, .stretch)
    }
}
