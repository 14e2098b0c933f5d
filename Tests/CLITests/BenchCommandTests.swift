import Foundation
import XCTest

final class BenchCommandTests: CLITestCase {
    /// A 26×26 3×3 layer from 64 channels (Winograd's), a 1×1 and a maxpool, on random weights.
    let cfg = "[net]\nwidth=26\nheight=26\nchannels=64\n[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
        + "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n[maxpool]\nsize=2\nstride=2\n"

    func testJSONReportsTheRunAndTheBLAS() throws {
        let path = try temporaryFile("small.cfg", contents: Data(cfg.utf8))
        let result = try run(["bench", path, "--runs", "3", "--batch", "2", "--threads", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["runs"] as? Int, 3)
        XCTAssertEqual(json["batch"] as? Int, 2)
        XCTAssertEqual(json["threads"] as? Int, 1)
        XCTAssertFalse((json["blas_core"] as? String ?? "").isEmpty)
        let (median, best) = (try XCTUnwrap(json["median_ms"] as? Double), try XCTUnwrap(json["min_ms"] as? Double))
        XCTAssertGreaterThan(best, 0)
        XCTAssertLessThanOrEqual(best, median)
        XCTAssertGreaterThan(json["gflops"] as? Double ?? 0, 0)
        // Two images of activations: 8·26² + 4·26² + 4·13² floats each, plus the workspace.
        XCTAssertGreaterThanOrEqual(json["context_bytes"] as? Int ?? 0, 2 * (8 * 676 + 4 * 676 + 4 * 169) * 4)
    }

    /// `--train`: the step's phases beside the forward pass, on a made-up one-hot truth; not
    /// with `--layers`.
    func testTrainTimesTheStepsPhases() throws {
        let path = try temporaryFile("classifier.cfg", contents: Data((cfg + "[connected]\noutput=3\nactivation=linear\n[softmax]\n").utf8))
        let result = try run(["bench", path, "--train", "--runs", "2", "--batch", "2", "--threads", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["batch"] as? Int, 2)
        XCTAssertEqual(json["runs"] as? Int, 2)
        for key in ["forward_ms", "train_forward_ms", "update_ms"] {
            XCTAssertGreaterThan(json[key] as? Double ?? 0, 0, key)
        }
        XCTAssertNotNil(json["backward_ms"] as? Double)
        let both = try run(["bench", path, "--train", "--layers"])
        XCTAssertEqual(both.status, 2)
        XCTAssertTrue(both.stderr.contains("--train"), both.stderr)
    }

    /// With a weights file, how long loading and checking it took, and whether it was mapped; without one, null.
    func testLoadTimeIsReportedForAWeightsFile() throws {
        let path = try temporaryFile("small.cfg", contents: Data(cfg.utf8))
        // Version 0.2.0, 0 images seen, then layer 0's 8 biases and 8·64·9 weights, layer 1's 4 + 4·8.
        let header: [Int32] = [0, 2, 0, 0, 0]
        let count = 8 + 8 * 64 * 9 + 4 + 4 * 8
        let floats: [Float] = (0..<count).map { index in Float(index % 7) / 70 }
        let bytes = header.withUnsafeBytes { Array($0) } + floats.withUnsafeBytes { Array($0) }
        let weights = try temporaryFile("small.weights", contents: Data(bytes))
        let withWeights = try run(["bench", path, weights, "--runs", "1", "--json"])
        XCTAssertEqual(withWeights.status, 0, withWeights.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(withWeights.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(json["load_ms"] as? Double), 0)
        XCTAssertEqual(json["weights_mapped"] as? Bool, true)
        let text = try run(["bench", path, weights, "--runs", "1"])
        XCTAssertTrue(text.stdout.split(separator: "\n").last?.hasPrefix("weights mapped and checked in ") == true, text.stdout)
        let read = try run(["bench", path, weights, "--runs", "1", "--no-mmap"])
        XCTAssertTrue(read.stdout.split(separator: "\n").last?.hasPrefix("weights read and checked in ") == true, read.stdout)
        let random = try run(["bench", path, "--runs", "1", "--json"])
        let randomJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(random.stdout.utf8)) as? [String: Any])
        XCTAssertTrue(randomJSON["load_ms"] is NSNull, random.stdout)
    }

    /// The CLI shortens how long OpenBLAS's idle workers spin, unless the user chose it.
    func testWorkerSpinIsTwentyUnlessTheUserSetsIt() throws {
        let path = try temporaryFile("small.cfg", contents: Data(cfg.utf8))
        for (variable, expected) in [(nil, 20), ("12", 12)] as [(String?, Int)] {
            let result = try run(["bench", path, "--runs", "1", "--json"], environment: ["OPENBLAS_THREAD_TIMEOUT": variable])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(json["worker_spin"] as? Int, expected, "OPENBLAS_THREAD_TIMEOUT=\(variable ?? "unset")")
        }
    }

    func testLayersMarksWinogradUnlessDisabled() throws {
        let path = try temporaryFile("small.cfg", contents: Data(cfg.utf8))
        for (extra, marked) in [([String](), true), (["--no-winograd"], false)] {
            let result = try run(["bench", path, "--runs", "2", "--layers"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 7, result.stdout)
            XCTAssertEqual(lines[0], "layer  type                  ms   GFLOP/s")
            XCTAssertTrue(lines[1].hasPrefix("    0  convolutional"), lines[1])
            XCTAssertEqual(lines[1].hasSuffix("winograd"), marked, lines[1])
            XCTAssertFalse(lines[2].hasSuffix("winograd"), lines[2])
            XCTAssertTrue(lines[3].hasPrefix("    2  maxpool"), lines[3])
            XCTAssertTrue(lines[4].hasPrefix("median ") && lines[4].contains("over 2 runs, batch 1"), lines[4])
            XCTAssertTrue(lines[4].contains("(idle ones spin 2^"), lines[4])
            XCTAssertEqual(lines[5], "dialect darknet (no section, key or activation only AlexeyAB's darknet reads)")
            XCTAssertTrue(lines[6].hasPrefix("CPU ") && lines[6].contains("; OpenBLAS "), lines[6])
        }
    }

    func testUsageErrorsExitTwoWithTheUsage() throws {
        let path = try temporaryFile("small.cfg", contents: Data(cfg.utf8))
        let result = try run(["bench", path, "--runs", "0"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(result.stderr.split(separator: "\n"), [
            "swift-darknet bench: --runs 0: expected a whole number in 1...10000",
            "usage: swift-darknet bench CFG [WEIGHTS] [options]",
            "'swift-darknet help bench' lists the options",
        ])
    }
}
