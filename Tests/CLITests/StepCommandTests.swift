import Foundation
import XCTest

final class StepCommandTests: CLITestCase {
    static let cfg = "[net]\nwidth=4\nheight=4\nchannels=2\nlearning_rate=0.1\n[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n[avgpool]\n[softmax]\n"

    /// A float32 .npy file of `shape`.
    func npy(_ shape: [Int], _ values: [Float]) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 255), UInt8(header.utf8.count >> 8)])
        data += Data(header.utf8)
        values.withUnsafeBytes { data += Data($0) }
        return data
    }

    func files(truthShape: [Int] = [2, 3]) throws -> (cfg: String, weights: String, input: String, truth: String) {
        let cfg = try temporaryFile("small.cfg", contents: Data(Self.cfg.utf8))
        let weights = try temporaryFile("small.weights", contents: Data())
        XCTAssertEqual(try run(["init", cfg, weights]).status, 0)
        let input = try temporaryFile("x.npy", contents: npy([2, 2, 4, 4], (0..<64).map { Float($0 % 7) / 7 }))
        let truth = try temporaryFile("t.npy", contents: npy(truthShape, (0..<truthShape.reduce(1, *)).map { $0 % 3 == 1 ? 1 : 0 }))
        return (cfg, weights, input, truth)
    }

    func testStepWritesTheWeightsWithSeen() throws {
        let (cfg, weights, input, truth) = try files()
        let out = try temporaryFile("out.weights", contents: Data())
        let result = try run(["step", cfg, weights, "--input", input, "--truth", truth, "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let (before, after) = (try Data(contentsOf: URL(fileURLWithPath: weights)), try Data(contentsOf: URL(fileURLWithPath: out)))
        XCTAssertEqual(after.count, before.count)
        XCTAssertEqual(after[12..<20], Data([2, 0, 0, 0, 0, 0, 0, 0])) // seen 0 + a batch of 2
        XCTAssertNotEqual(after[20...], before[20...])
    }

    func testBadInputIsOneLineNamingTheFile() throws {
        let (cfg, weights, input, truth) = try files(truthShape: [2, 4])
        let out = try temporaryFile("out.weights", contents: Data())
        let wrongTruth = try run(["step", cfg, weights, "--input", input, "--truth", truth, "--out", out])
        XCTAssertEqual(wrongTruth.status, 1)
        XCTAssertTrue(wrongTruth.stderr.hasPrefix("\(truth): error: the truth has shape [2, 4]"), wrongTruth.stderr)
        let missing = try run(["step", cfg, weights, "--input", input, "--out", out])
        XCTAssertEqual(missing.status, 2, missing.stderr)

        let dropout = try temporaryFile("dropout.cfg", contents: Data((Self.cfg + "[dropout]\n").utf8))
        let untrainable = try run(["step", dropout, weights, "--input", input, "--truth", truth, "--out", out])
        XCTAssertEqual(untrainable.status, 1)
        XCTAssertTrue(untrainable.stderr.hasPrefix("\(dropout):14: error: layer 3: [dropout] has no backward pass yet"), untrainable.stderr)
    }
}
