import Foundation
import XCTest
@testable import Darknet

/// The protobuf encoder against bytes worked out by hand from the wire format (the first
/// three are the examples of protobuf's encoding guide), and what an export refuses.
/// scripts/check_onnx.py runs the exported models in onnxruntime and OpenVINO.
final class ONNXExportTests: XCTestCase {
    func bytes(_ write: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var writer = ProtobufWriter()
        write(&writer)
        return writer.bytes
    }

    func testWireFormat() {
        XCTAssertEqual(bytes { $0.field(1, int: 150) }, [0x08, 0x96, 0x01])
        XCTAssertEqual(bytes { $0.field(2, string: "testing") }, [0x12, 0x07] + Array("testing".utf8))
        var inner = ProtobufWriter()
        inner.field(1, int: 150)
        XCTAssertEqual(bytes { $0.field(3, message: inner) }, [0x1a, 0x03, 0x08, 0x96, 0x01])
        XCTAssertEqual(bytes { $0.varint(300) }, [0xac, 0x02])
        XCTAssertEqual(bytes { $0.varint(0) }, [0x00])
        XCTAssertEqual(bytes { $0.varint(UInt64.max) }, [UInt8](repeating: 0xff, count: 9) + [0x01])
        // A negative int64 is its two's complement: ten bytes.
        XCTAssertEqual(bytes { $0.field(3, int: -1) }, [0x18] + [UInt8](repeating: 0xff, count: 9) + [0x01])
        // Field 20 needs a two-byte key: (20 << 3) | 0 = 160.
        XCTAssertEqual(bytes { $0.field(20, int: 7) }, [0xa0, 0x01, 0x07])
        XCTAssertEqual(bytes { $0.field(2, float: 1) }, [0x15, 0x00, 0x00, 0x80, 0x3f])
        XCTAssertEqual(bytes { $0.field(9, littleEndianFloats: [1, -2]) }, [0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0])
    }

    func testONNXMessages() {
        // dims 2 (field 1), data_type FLOAT (field 2), name "w" (field 8), raw_data (field 9).
        XCTAssertEqual(ONNX.Tensor(name: "w", dimensions: [2], floats: [1, -2]).encoded.bytes,
                       [0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 0x77, 0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0])
        XCTAssertEqual(ONNX.Tensor(name: "s", dimensions: [1], int64s: [-1]).encoded.bytes,
                       [0x08, 0x01, 0x10, 0x07, 0x42, 0x01, 0x73, 0x4a, 0x08] + [UInt8](repeating: 0xff, count: 8))
        // name (1), type INTS = 7 (20), each int unpacked (8).
        XCTAssertEqual(ONNX.Attribute.ints("pads", [1, 0]).encoded.bytes,
                       [0x0a, 0x04] + Array("pads".utf8) + [0xa0, 0x01, 0x07, 0x40, 0x01, 0x40, 0x00])
        // name (1), type FLOAT = 1 (20), f (2).
        XCTAssertEqual(ONNX.Attribute.float("alpha", 0.5).encoded.bytes,
                       [0x0a, 0x05] + Array("alpha".utf8) + [0xa0, 0x01, 0x01, 0x15, 0x00, 0x00, 0x00, 0x3f])
        // input (1), output (2), name (3), op_type (4).
        XCTAssertEqual(ONNX.Node(opType: "Relu", inputs: ["x"], outputs: ["y"], name: "n").encoded.bytes,
                       [0x0a, 0x01, 0x78, 0x12, 0x01, 0x79, 0x1a, 0x01, 0x6e, 0x22, 0x04] + Array("Relu".utf8))
        // name (1); type (2) → tensor_type (1) → elem_type FLOAT (1), shape (2) → dim (1) → dim_param (2) / dim_value (1).
        XCTAssertEqual(ONNX.ValueInfo(name: "x", dimensions: [.parameter("N"), .value(3)]).encoded.bytes,
                       [0x0a, 0x01, 0x78, 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09, 0x0a, 0x03, 0x12, 0x01, 0x4e, 0x0a, 0x02, 0x08, 0x03])
    }

    func definition(_ text: String) throws -> NetworkDefinition {
        try NetworkDefinition(cfg: CfgFile(text: text, path: "export.cfg"))
    }

    func weights(_ definition: NetworkDefinition) throws -> NetworkWeights {
        try NetworkWeights(header: WeightsHeader(), floats: (0..<definition.storedFloats).map { Float($0 % 7) / 7 }, for: definition)
    }

    func testExportWritesAModelAndRefusesWhatONNXCannotExpress() throws {
        let folder = NSTemporaryDirectory() + "onnx-export-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/model.onnx"

        let net = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
        let good = try definition(net + "[maxpool]\nsize=2\nstride=2\n")
        try good.exportONNX(weights: weights(good), to: path)
        let model = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(model.prefix(2)), [0x08, 0x08], "ir_version 8, for opset 17")
        XCTAssertNotNil(model.firstRange(of: Array("layer_001".utf8)), "the output is named after its layer")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["model.onnx"])

        // Nothing is written for a layer ONNX cannot express: the error names its section.
        try FileManager.default.removeItem(atPath: path)
        let bad = try definition(net + "[convolutional]\nfilters=125\nsize=1\nactivation=linear\n[region]\nclasses=20\nnum=5\ntree=data/9k.tree\n")
        XCTAssertThrowsError(try bad.exportONNX(weights: weights(bad), to: path)) {
            XCTAssertEqual(($0 as? Diagnostic)?.description,
                           "export.cfg:15: error: [region] tree=data/9k.tree: hierarchical (YOLO9000) softmax cannot be exported")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
        let outside = try definition(net + "[local_avgpool]\nsize=2\nstride=1\npadding=4\n")
        XCTAssertThrowsError(try outside.onnxModel(weights: weights(outside))) {
            XCTAssertEqual(($0 as? Diagnostic)?.description,
                           "export.cfg:11: error: [local_avgpool] a padding of 2 puts whole 2×2 windows outside the image, whose mean of no taps is 0/0: ONNX's AveragePool refuses pads as large as the window")
        }
        XCTAssertThrowsError(try good.onnxModel(weights: weights(good), options: ONNXExportOptions(opset: 12))) {
            XCTAssertEqual(($0 as? Diagnostic)?.description, "export.cfg: error: opset 12: an export targets opsets 13...21")
        }
    }
}
