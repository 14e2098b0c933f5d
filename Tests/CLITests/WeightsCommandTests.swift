import Foundation
import XCTest

final class WeightsCommandTests: CLITestCase {
    static let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n[convolutional]\nfilters=2\nactivation=linear\n"

    func weights(floats: Int, seen: UInt64 = 5) -> Data {
        var bytes: [UInt8] = []
        for field: Int32 in [0, 2, 0] { withUnsafeBytes(of: field.littleEndian) { bytes += $0 } }
        withUnsafeBytes(of: seen.littleEndian) { bytes += $0 }
        (0..<floats).map { Float($0) / 7 }.withUnsafeBytes { bytes += $0 }
        return Data(bytes)
    }

    func testInspectExactFit() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let file = try temporaryFile("exact.weights", contents: weights(floats: 134))
        for mapping in [[], ["--no-mmap"]] {
            let result = try run(["inspect", cfg, file] + mapping)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout, """
                header: version 0.2.0, seen 5, 20-byte header
                layer  type            float offset      floats
                    0  convolutional              0         124
                    1  maxpool                  124           0
                    2  convolutional            124          10
                verdict: exact fit, 134 floats

                """)
        }
        var damaged = weights(floats: 134)
        damaged.replaceSubrange(24..<28, with: [Float.nan].withUnsafeBytes { Data($0) })
        let nanFile = try temporaryFile("nan.weights", contents: damaged)
        for mapping in [[], ["--no-mmap"]] {
            let nan = try run(["inspect", cfg, nanFile] + mapping)
            XCTAssertTrue(nan.stdout.hasSuffix("verdict: exact fit, 134 floats; 1 of them not finite (NaN or ±inf), the first at byte 24 in layer 0 [convolutional]\n"), nan.stdout)
        }
    }

    func testInspectVerdicts() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let short = try run(["inspect", cfg, try temporaryFile("short.weights", contents: weights(floats: 100))])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stdout.hasSuffix("verdict: short by 34 floats from layer 0 on\n"), short.stdout)
        let prefix = try temporaryFile("prefix.weights", contents: weights(floats: 124))
        let boundary = try run(["inspect", cfg, prefix])
        XCTAssertEqual(boundary.status, 1)
        XCTAssertTrue(boundary.stdout.hasSuffix("verdict: short by 10 floats from layer 2 on; the file ends at a layer boundary (a prefix of 2 layers: use --prefix)\n"), boundary.stdout)
        let explicit = try run(["inspect", cfg, prefix, "--prefix"])
        XCTAssertEqual(explicit.status, 0)
        XCTAssertTrue(explicit.stdout.hasSuffix("verdict: prefix fit, layers 0..<2 (124 floats)\n"), explicit.stdout)
        let extra = try run(["inspect", cfg, try temporaryFile("long.weights", contents: weights(floats: 136))])
        XCTAssertEqual(extra.status, 1)
        XCTAssertTrue(extra.stdout.hasSuffix("verdict: 8 extra bytes after the last layer\n"), extra.stdout)
    }

    func testConvertRoundTripAndOptions() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let original = weights(floats: 134, seen: 99)
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
        let damaged = weights(floats: 130)
        let input = try temporaryFile("damaged.weights", contents: damaged)
        let output = input + ".out"
        let result = try run(["convert", cfg, input, output])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("\(input): byte 540: error: layer 2 [convolutional] at float offset 124 needs 10 floats, 6 remain"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), damaged)

        let good = try temporaryFile("good.weights", contents: weights(floats: 134))
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
        let weights = try temporaryFile("run.weights", contents: weights(floats: 134))
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
