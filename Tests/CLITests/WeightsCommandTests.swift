import Foundation
import XCTest

final class WeightsCommandTests: CLITestCase {
    static let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n[convolutional]\nfilters=2\nactivation=linear\n"

    static func weights(floats: Int, seen: UInt64 = 5) -> Data {
        var bytes: [UInt8] = []
        for field: Int32 in [0, 2, 0] { withUnsafeBytes(of: field.littleEndian) { bytes += $0 } }
        withUnsafeBytes(of: seen.littleEndian) { bytes += $0 }
        (0..<floats).map { Float($0) / 7 }.withUnsafeBytes { bytes += $0 }
        return Data(bytes)
    }

    func testInspectExactFit() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let file = try temporaryFile("exact.weights", contents: Self.weights(floats: 134))
        for mapping in [[], ["--no-mmap"]] {
            let result = try run(["inspect", cfg, file] + mapping)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout, """
                verdict: exact fit, 134 floats
                header: version 0.2.0, seen 5, 20-byte header
                dialect: darknet (no section, key or activation only AlexeyAB's darknet reads)
                layer  type            float offset      floats
                    0  convolutional              0         124
                    1  maxpool                  124           0
                    2  convolutional            124          10

                """)
        }
        let chosen = try run(["inspect", cfg, file, "--dialect", "alexeyab"])
        XCTAssertTrue(chosen.stdout.contains("\ndialect: alexeyab (chosen)\n"), chosen.stdout)
        let wrong = try run(["inspect", cfg, file, "--dialect", "ab"])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("--dialect ab: expected alexeyab or darknet"), wrong.stderr)
        var damaged = Self.weights(floats: 134)
        damaged.replaceSubrange(24..<28, with: [Float.nan].withUnsafeBytes { Data($0) })
        let nanFile = try temporaryFile("nan.weights", contents: damaged)
        for mapping in [[], ["--no-mmap"]] {
            let nan = try run(["inspect", cfg, nanFile] + mapping)
            XCTAssertTrue(nan.stdout.hasPrefix("verdict: exact fit, 134 floats; 1 of them not finite (NaN or ±inf), the first at byte 24 in layer 0 [convolutional]\n"), nan.stdout)
        }
    }

    func testInspectVerdicts() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let short = try run(["inspect", cfg, try temporaryFile("short.weights", contents: Self.weights(floats: 100))])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stdout.hasPrefix("""
            verdict: short by 34 floats from layer 0 on
              the file ends 100 floats into layer 0 [convolutional] (of its 124); the nearest layer boundary is the start of layer 2 [convolutional], 24 floats after the file's end
              no input size changes it: no layer's weights depend on the input size
            header: version 0.2.0, seen 5, 20-byte header

            """), short.stdout)
        let prefix = try temporaryFile("prefix.weights", contents: Self.weights(floats: 124))
        let boundary = try run(["inspect", cfg, prefix])
        XCTAssertEqual(boundary.status, 1)
        XCTAssertTrue(boundary.stdout.hasPrefix("verdict: short by 10 floats from layer 2 on; the file ends at a layer boundary (a prefix of 2 layers: use --prefix)\n"), boundary.stdout)
        let explicit = try run(["inspect", cfg, prefix, "--prefix"])
        XCTAssertEqual(explicit.status, 0)
        XCTAssertTrue(explicit.stdout.hasPrefix("verdict: prefix fit, layers 0..<2 (124 floats)\nheader: "), explicit.stdout)
        let extra = try run(["inspect", cfg, try temporaryFile("long.weights", contents: Self.weights(floats: 136))])
        XCTAssertEqual(extra.status, 1)
        XCTAssertTrue(extra.stdout.hasPrefix("verdict: 8 extra bytes after the last layer\n"), extra.stdout)
    }

    /// JSON starts with the verdict too, and carries what the text says.
    func testInspectJSON() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let short = try run(["inspect", cfg, try temporaryFile("short.weights", contents: Self.weights(floats: 100)), "--json"])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stdout.hasPrefix(#"{"verdict": {"fit": "short", "missing_floats": 34, "first_short_layer": 0, "#), short.stdout)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(short.stdout.utf8)) as? [String: Any])
        let verdict = try XCTUnwrap(json["verdict"] as? [String: Any])
        XCTAssertEqual(verdict["available_floats"] as? Int, 100)
        XCTAssertEqual(verdict["nearest_boundary"] as? [String: Int], ["layers": 2, "float_offset": 124])
        XCTAssertEqual((json["header"] as? [String: Any])?["seen"] as? Int, 5)
        XCTAssertEqual((json["layers"] as? [[String: Any]])?.map { $0["floats"] as? Int }, [124, 0, 10])
        let exact = try run(["inspect", cfg, try temporaryFile("exact.weights", contents: Self.weights(floats: 134)), "--json"])
        XCTAssertEqual(exact.status, 0)
        XCTAssertTrue(exact.stdout.hasPrefix(#"{"verdict": {"fit": "exact", "needed_floats": 134, "available_floats": 134}, "#), exact.stdout)
    }

    /// Weights made for another class count: the verdict says which classes= (and filters=) fit.
    func testInspectNamesTheClassCountThatFits() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(DetectCommandTests.cfg.utf8))
        let five = DetectCommandTests.cfg.replacingOccurrences(of: "classes=2", with: "classes=5").replacingOccurrences(of: "filters=14", with: "filters=20")
        let fiveCfg = try temporaryFile("five.cfg", contents: Data(five.utf8))
        let weights = fiveCfg + ".weights"
        XCTAssertEqual(try run(["init", fiveCfg, weights]).status, 0)
        let result = try run(["inspect", cfg, weights])
        XCTAssertEqual(result.status, 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(3)), [
            "verdict: 216 extra bytes after the last layer", // 6 more filters of 8 weights and a bias
            "  it fits classes=5 (filters=20 in the convolution before each [yolo]): weights for another class count",
            "  no input size changes it: no layer's weights depend on the input size",
        ])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try run(["inspect", cfg, weights, "--json"]).stdout.utf8)) as? [String: Any])
        XCTAssertEqual((json["verdict"] as? [String: Any])?["fits_classes"] as? NSDictionary, ["classes": 5, "filters": [20]] as NSDictionary)
        // Weights of another network altogether: no class count helps, and it says so.
        let other = try run(["inspect", cfg, try temporaryFile("other.weights", contents: Self.weights(floats: 134))])
        XCTAssertTrue(other.stdout.contains("\n  no other classes= makes it fit\n"), other.stdout)
    }

    /// A [connected] layer's weights depend on the input size: the verdict names one that fits.
    func testInspectNamesTheInputSizeThatFits() throws {
        let text = Self.cfg + "[connected]\noutput=3\nactivation=linear\n"
        let cfg = try temporaryFile("connected.cfg", contents: Data(text.utf8))
        let weights = cfg + ".weights"
        XCTAssertEqual(try run(["init", cfg, weights, "--width", "64", "--height", "64"]).status, 0)
        let result = try run(["inspect", cfg, weights])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.contains("\n  it fits an input of 64×64 (--width 64 --height 64)\n"), result.stdout)
        XCTAssertEqual(try run(["inspect", cfg, weights, "--width", "64", "--height", "64"]).status, 0)
    }

    func testConvertRoundTripAndOptions() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let original = Self.weights(floats: 134, seen: 99)
        let input = try temporaryFile("in.weights", contents: original)
        let output = input + ".out"
        XCTAssertEqual(try run(["convert", cfg, input, output]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), original)
        XCTAssertEqual(try run(["convert", cfg, input, output, "--cutoff", "1", "--reset-seen", "--version", "0.1.0"]).status, 0)
        let cut = try Data(contentsOf: URL(fileURLWithPath: output))
        XCTAssertEqual(cut.count, 16 + 124 * 4)
        XCTAssertEqual(Array(cut.prefix(16)), [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(cut.suffix(124 * 4), original.dropFirst(20).prefix(124 * 4))
    }

    func testConvertFailuresLeaveNoOutputAndNeverTouchTheInput() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let damaged = Self.weights(floats: 130)
        let input = try temporaryFile("damaged.weights", contents: damaged)
        let output = input + ".out"
        let result = try run(["convert", cfg, input, output])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("\(input): byte 540: error: layer 2 [convolutional] at float offset 124 needs 10 floats, 6 remain"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), damaged)

        let good = try temporaryFile("good.weights", contents: Self.weights(floats: 134))
        let same = try run(["convert", cfg, good, good, "--reset-seen"])
        XCTAssertEqual(same.status, 1)
        XCTAssertEqual(same.stderr, "\(good): error: OUT is the input file: convert never writes over its input\n")
        XCTAssertEqual(try run(["convert", cfg, good, output, "--version", "1.x"]).status, 2)
        XCTAssertEqual(try run(["convert", cfg, good, output, "--cutoff", "5"]).stderr,
                       "\(good): error: --cutoff 5: the weights cover only 3 layers\n")
    }

    /// An input of the wrong shape is reported at the .npy file given, naming the cfg's shape.
    func testRunNamesTheInputOfTheWrongShape() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let weights = try temporaryFile("run.weights", contents: Self.weights(floats: 134))
        // NumPy's format 1.0: magic, version, header length, a dict padded to 64 bytes, then the floats.
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 4), }"
        header += String(repeating: " ", count: 63 - (10 + header.count) % 64) + "\n"
        var npy = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count % 256), UInt8(header.count / 256)] + Array(header.utf8))
        npy += [Float](repeating: 0.5, count: 48).withUnsafeBytes { Data($0) }
        let input = try temporaryFile("small.npy", contents: npy)
        let result = try run(["run", cfg, weights, "--input", input, "--out", input + ".out"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "\(input): error: the input has shape [3, 4, 4]; \(cfg) takes (3, 8, 8) or a batch of them\n")
    }
}

final class ExportCommandTests: CLITestCase {
    func testExportWritesOrSaysWhyNot() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(WeightsCommandTests.cfg.utf8))
        let weights = try temporaryFile("small.weights", contents: WeightsCommandTests.weights(floats: 134))
        let out = URL(fileURLWithPath: cfg).deletingLastPathComponent().appendingPathComponent("small.onnx").path

        let conflict = try run(["export", cfg, weights, out, "--batch", "2", "--dynamic-batch"])
        XCTAssertEqual(conflict.status, 2)
        XCTAssertTrue(conflict.stderr.hasPrefix("swift-darknet export: --batch and --dynamic-batch exclude each other\n"), conflict.stderr)
        let opset = try run(["export", cfg, weights, out, "--opset", "9"])
        XCTAssertEqual(opset.status, 2)
        XCTAssertTrue(opset.stderr.hasPrefix("swift-darknet export: --opset 9: expected a whole number in 13...21\n"), opset.stderr)
        let short = try temporaryFile("short.weights", contents: WeightsCommandTests.weights(floats: 100))
        XCTAssertEqual(try run(["export", cfg, short, out]).status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let exported = try run(["export", cfg, weights, out, "--dynamic-batch"])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let model = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertNotNil(model.range(of: Data("layer_002".utf8)))
        XCTAssertNotNil(model.range(of: Data([0x12, 0x01, 0x4e])), "the batch dimension is named N")
    }
}
