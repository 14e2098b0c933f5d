import Foundation
import XCTest
@testable import Darknet

final class DefinitionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func shipped(_ name: String) -> String { root.appendingPathComponent("cfg/\(name)").path }

    func definition(_ text: String, options: DefinitionOptions = .init()) throws -> NetworkDefinition {
        try NetworkDefinition(cfg: try CfgFile(text: text, path: "test.cfg"), options: options)
    }

    func testSyntaxAsDarknetStripsIt() throws {
        let text = "[network]\r\n# comment\r\n; another\r\nwidth = 3 2\r\nheight=\t32\r\nchannels=3\r\n\r\n[conv]\r\nfilters = 4\r\n[max]\r\n[avg]\r\n[soft]\r\n"
        let d = try definition(text)
        XCTAssertEqual(d.input, Shape(channels: 3, height: 32, width: 32))
        XCTAssertEqual(d.layers.map(\.typeName), ["convolutional", "maxpool", "avgpool", "softmax"])
        XCTAssertEqual(d.layers.map(\.line), [8, 10, 11, 12])
        guard case .convolutional(let conv) = d.layers[0].spec else { return XCTFail() }
        XCTAssertEqual(conv.activation, .logistic) // Darknet's default for [convolutional]
        XCTAssertEqual(conv.filters, 4)
        XCTAssertEqual(conv.size, 1)
        guard case .maxpool(let pool) = d.layers[1].spec else { return XCTFail() }
        XCTAssertEqual([pool.size, pool.stride, pool.padding], [1, 1, 0])
    }

    /// The definition charges what it allocates (outputs, weights); a workspace is the plan's,
    /// which bands im2col: a 3×3 over 512 channels at 600×600 takes 8 MiB of columns, not 6.6 GB.
    func testWorkspacesAreChargedByTheirPlanNotTheDefinition() throws {
        let large = try definition("[net]\nwidth=600\nheight=600\nchannels=512\n[convolutional]\nfilters=8\nsize=3\npad=1\n")
        XCTAssertEqual(large.layers[0].output, Shape(channels: 8, height: 600, width: 600))
        // 128 channels at 64×64 fit 4 MiB, and so do the output and weights; the 3×3's im2col bands
        // (28 rows of 1152·64 floats) do not: the network refuses it where it plans them.
        let cfg = "[net]\nwidth=64\nheight=64\nchannels=128\n[convolutional]\nfilters=1\nsize=3\npad=1\n"
        let small = try definition(cfg, options: DefinitionOptions(memoryLimit: 4 << 20))
        let weights = try NetworkWeights(header: WeightsHeader(), floats: [Float](repeating: 0, count: small.storedFloats), for: small)
        XCTAssertThrowsError(try Network(definition: small, weights: weights, winograd: false)) { error in
            XCTAssertEqual("\(error)", "test.cfg:5: error: [convolutional] its im2col workspace of 2064384 floats would need more than the memory limit of 4.0 MiB")
        }
    }

    /// AlexeyAB's efficientnet-lite3 has filters=40#32 and cspx-p7-mish layers=180###P6: Darknet's
    /// atoi reads the leading integer, and so do we, with a warning; text without one stays an error.
    func testIntegersAreReadFromTheirLeadingDigitsAsAtoiReadsThem() throws {
        let d = try definition("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=40#32\n[route]\nlayers=0###P6,0\n")
        XCTAssertEqual(d.layers[0].output.channels, 40)
        XCTAssertEqual(d.layers[1].output.channels, 80)
        XCTAssertEqual(d.warnings.map(\.description), [
            "test.cfg:6: warning: [convolutional] filters=40#32: read as 40, as Darknet's atoi reads it; '#32' is ignored",
            "test.cfg:8: warning: [route] layers=0###P6,0: read as 0, as Darknet's atoi reads it; '###P6' is ignored",
        ])
        XCTAssertThrowsError(try definition("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=#32\n")) { error in
            XCTAssertEqual("\(error)", "test.cfg:6: error: [convolutional] filters=#32: expected an integer")
        }
    }

    /// AlexeyAB's cspx-p7-mish lists 20 anchors for num=16: its [yolo] parser reads the first
    /// 2·num numbers, and so do we, with a warning; [Gaussian_yolo] (which writes them past its
    /// array) and --strict refuse them. Too few (cspx-p7-mish_hp) are filled with 0.5.
    func testYoloReadsTheFirstTwoNumAnchorNumbers() throws {
        let head = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=14\nsize=1\n"
        let yolo = head + "[yolo]\nclasses=2\nnum=2\nanchors=1,2,3,4,5,6\n"
        let d = try definition(yolo)
        guard case .yolo(let spec) = d.layers[1].spec else { return XCTFail() }
        XCTAssertEqual(spec.anchors, [1, 2, 3, 4])
        XCTAssertEqual(d.warnings.map(\.description), [
            "test.cfg:11: warning: [yolo] anchors=1,2,3,4,5,6: 6 numbers; num=2 reads the first 4, as AlexeyAB's darknet does; the rest are ignored",
        ])
        XCTAssertThrowsError(try definition(yolo, options: DefinitionOptions(strict: true))) { error in
            XCTAssertEqual("\(error)", "test.cfg:11: error: [yolo] anchors=1,2,3,4,5,6: 6 numbers; num=2 reads the first 4, as AlexeyAB's darknet does; the rest are ignored")
        }
        let short = try definition(head + "[yolo]\nclasses=2\nnum=2\nanchors=1,2,3\n")
        guard case .yolo(let filled) = short.layers[1].spec else { return XCTFail() }
        XCTAssertEqual(filled.anchors, [1, 2, 3, 0.5])
        XCTAssertEqual(short.warnings.map(\.description), [
            "test.cfg:11: warning: [yolo] anchors=1,2,3: 3 numbers; num=2 needs 4: the missing 1 are 0.5, as Darknet fills them",
        ])
        let gaussian = head.replacingOccurrences(of: "filters=14", with: "filters=22") + "[Gaussian_yolo]\nclasses=2\nnum=2\nanchors=1,2,3,4,5,6\n"
        XCTAssertThrowsError(try definition(gaussian)) { error in
            XCTAssertEqual("\(error)", "test.cfg:11: error: [Gaussian_yolo] anchors=1,2,3,4,5,6: has 6 numbers; num=2 needs 4 (a width and a height per anchor)")
        }
    }

    /// AlexeyAB's training-only keys are accepted quietly; cbn normalises as batch-norm does.
    func testAlexeyABTrainingKeysAreAccepted() throws {
        let d = try definition("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\ncbn=1\nstopbackward=1\nsway=1\n"
                               + "learning_rate=0.1\n[maxpool]\nmaxpool_zero_nonmax=1\n")
        XCTAssertEqual(d.warnings.map(\.description), [])
        guard case .convolutional(let conv) = d.layers[0].spec else { return XCTFail() }
        XCTAssertTrue(conv.batchNormalize)
        XCTAssertEqual(d.storedFloats, 4 * 4 + 4 * 3)
    }

    func testWarningsKeepTheFirstValue() throws {
        let d = try definition("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=8\nfilters=16\nfilterz=2\n")
        XCTAssertEqual(d.layers[0].output.channels, 8)
        XCTAssertEqual(d.warnings.map(\.description), [
            "test.cfg:7: warning: [convolutional] filters is given twice; the first value is used",
            "test.cfg:8: warning: [convolutional] unknown key 'filterz' is ignored",
        ])
    }

    func testShapeRules() throws {
        let d = try definition("""
            [net]
            width=13
            height=13
            channels=4
            [maxpool]
            size=2
            stride=1
            [maxpool]
            size=2
            stride=2
            [upsample]
            stride=-7
            [reorg]
            stride=1
            [route]
            layers=0
            groups=2
            group_id=1
            [upsample]
            [shortcut]
            from=0
            [convolutional]
            filters=6
            size=3
            pad=1
            dilation=2
            groups=2
            """)
        XCTAssertEqual(d.layers.map(\.output), [
            Shape(channels: 4, height: 13, width: 13), // 2×2/1 keeps the size: padding defaults to size−1
            Shape(channels: 4, height: 7, width: 7),   // (13 + 1 − 2)/2 + 1
            Shape(channels: 4, height: 1, width: 1),
            Shape(channels: 4, height: 1, width: 1),
            Shape(channels: 2, height: 13, width: 13), // group 1 of 2
            Shape(channels: 2, height: 26, width: 26),
            Shape(channels: 2, height: 26, width: 26), // 4×13×13 added into 2×26×26
            Shape(channels: 6, height: 26, width: 26), // AlexeyAB: (26 + 2·1 − 3)/1 + 1, padded by 1·2
        ])
    }

    func testShippedCfgTotalsEqualSpec() throws {
        let backbone = try NetworkDefinition(contentsOf: Self.shipped("darknet53-backbone.cfg"))
        XCTAssertEqual(backbone.parameters, 40_584_928)
        XCTAssertEqual(backbone.parametersWithoutNorm, 40_549_216)
        XCTAssertEqual(backbone.macs, 24_515_805_184)
        XCTAssertEqual([36, 61, 74].map { backbone.layers[$0].output }, [
            Shape(channels: 256, height: 52, width: 52), Shape(channels: 512, height: 26, width: 26),
            Shape(channels: 1024, height: 13, width: 13),
        ])
        let yolo = try NetworkDefinition(contentsOf: Self.shipped("yolov3.cfg"))
        XCTAssertEqual(yolo.parameters, 61_949_149)
        XCTAssertEqual(yolo.storedFloats, 62_001_757)
        let tiny = try NetworkDefinition(contentsOf: Self.shipped("yolov3-tiny.cfg"))
        XCTAssertEqual(tiny.storedFloats, 8_858_734)
        let wide = try NetworkDefinition(contentsOf: Self.shipped("yolov3.cfg"), options: .init(width: 608, height: 608))
        XCTAssertEqual(wide.layers.last?.output, Shape(channels: 255, height: 76, width: 76))
    }

    func testSeedArchitectures() throws {
        let yolov5 = try NetworkDefinition(contentsOf: Self.shipped("yolov5-backbone-cls.cfg"))
        XCTAssertEqual(yolov5.parameters, 21_729_592)
        XCTAssertEqual(yolov5.layers[0].output, Shape(channels: 64, height: 113, width: 113)) // padding 2
        XCTAssertEqual(yolov5.layers[42].output, Shape(channels: 1024, height: 8, width: 8))  // 65,536 into the classifier
        let mobile = try NetworkDefinition(contentsOf: Self.shipped("yolov3-mobilenetv2.cfg"))
        XCTAssertEqual([20, 46, 60].map { mobile.layers[$0].output }, [
            Shape(channels: 32, height: 52, width: 52), Shape(channels: 96, height: 26, width: 26),
            Shape(channels: 320, height: 13, width: 13),
        ])
        XCTAssertEqual([68, 80, 92].map { mobile.layers[$0].typeName }, ["yolo", "yolo", "yolo"])
        for name in ["res2net-yolov3.cfg", "res2net-triangle-yolov3.cfg"] {
            let res2net = try NetworkDefinition(contentsOf: Self.shipped(name))
            XCTAssertEqual(res2net.layers.filter { $0.typeName == "yolo" }.map(\.output.height), [19, 38, 76], name)
        }
    }

    func testRes2NetAndTriangleCounts() throws {
        let d = try definition("[net]\nwidth=8\nheight=8\nchannels=64\n[res2net]\nplanes=32\n[triangle]\nplanes=32\n")
        // width = floor(32·26/64) = 13: 1×1 64→52, three 3×3 13→13, 1×1 52→64; BN γ, β on each.
        XCTAssertEqual(d.layers[0].parameters, 64 * 52 + 2 * 52 + 3 * (13 * 13 * 9 + 2 * 13) + 52 * 64 + 2 * 64)
        XCTAssertEqual(d.layers[0].output, Shape(channels: 64, height: 8, width: 8))
        // width = floor(32·16/64) = 8: 1×1 64→32, three 3×3 8→8, no closing conv.
        XCTAssertEqual(d.layers[1].parameters, 64 * 32 + 2 * 32 + 3 * (8 * 8 * 9 + 2 * 8))
        XCTAssertEqual(d.layers[1].output, Shape(channels: 32, height: 8, width: 8))
        XCTAssertEqual(d.layers[0].weightArrays.map(\.role).prefix(5), [.normBias, .normScale, .rollingMean, .rollingVariance, .weights])
    }
}
