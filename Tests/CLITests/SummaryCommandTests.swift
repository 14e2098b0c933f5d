import Foundation
import XCTest

final class SummaryCommandTests: CLITestCase {
    func testTableOfTheBackbone() throws {
        let result = try run(["summary", "cfg/darknet53-backbone.cfg"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], "layer  type           filters  size   input        output          params         MACs")
        XCTAssertEqual(lines[1], "    0  convolutional  32       3×3/1  3×416×416    32×416×416         928  149,520,384")
        XCTAssertTrue(result.stdout.hasSuffix("""
            parameters:             40,584,928
            parameters without BN:  40,549,216
            floats in weights file: 40,620,640
            multiply-adds:          24,515,805,184
            BFLOPs:                 49.032

            """), result.stdout)
    }

    func testJSONWithSizeOverride() throws {
        let result = try run(["summary", "cfg/yolov3.cfg", "--json", "--width", "608", "--height", "608"])
        XCTAssertEqual(result.status, 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let layers = json["layers"] as! [[String: Any]]
        let totals = json["totals"] as! [String: Any]
        XCTAssertEqual(layers.count, 107)
        XCTAssertEqual(layers[106]["output"] as? [Int], [255, 76, 76])
        XCTAssertEqual(layers[106]["type"] as? String, "yolo")
        XCTAssertEqual(totals["params"] as? Int, 61_949_149)
        XCTAssertEqual(totals["params_without_bn"] as? Int, 61_896_541)
    }

    func testBadCfgIsOneLineAndExitOne() throws {
        let path = try temporaryFile("typo.cfg", contents: Data("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nactivation=leakyy\n".utf8))
        let result = try run(["summary", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, "")
        XCTAssertTrue(result.stderr.hasPrefix("\(path):6: error: [convolutional] activation=leakyy: unknown activation"), result.stderr)
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1)
    }

    func testWarningsAndStrict() throws {
        let path = try temporaryFile("dup.cfg", contents: Data("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nsize=1\nsize=3\n".utf8))
        let lenient = try run(["summary", path])
        XCTAssertEqual(lenient.status, 0)
        XCTAssertEqual(lenient.stderr, "\(path):7: warning: [convolutional] size is given twice; the first value is used\n")
        let strict = try run(["summary", path, "--strict"])
        XCTAssertEqual(strict.status, 1)
        XCTAssertEqual(strict.stderr, "\(path):7: error: [convolutional] size is given twice; the first value is used\n")
    }

    func testMemoryLimitIsConfigurable() throws {
        let result = try run(["summary", "cfg/yolov3.cfg", "--memory-limit", "16M"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "cfg/yolov3.cfg:26: error: [convolutional] output 32×416×416 would need more than the memory limit of 16.0 MiB\n")
        XCTAssertEqual(try run(["summary", "cfg/yolov3.cfg", "--memory-limit", "64M"]).status, 0)
        XCTAssertEqual(try run(["summary", "cfg/yolov3.cfg", "--memory-limit", "lots"]).status, 2)
    }

    func testMissingFileAndUsageErrors() throws {
        let missing = try run(["summary", "no-such.cfg"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "no-such.cfg: error: cannot open the file: No such file or directory\n")
        let usage = try run(["summary"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.stderr.hasPrefix("swift-darknet summary: expected CFG, got 0 argument(s)\n"), usage.stderr)
        let option = try run(["summary", "cfg/yolov3.cfg", "--width", "abc"])
        XCTAssertEqual(option.status, 2)
        let unknown = try run(["frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        // Empty arguments (an unset shell variable) are usage errors, not errors at an empty path.
        let empty = try run(["summary", ""])
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.hasPrefix("swift-darknet summary: an empty argument where a file name was expected\n"), empty.stderr)
        XCTAssertEqual(try run(["summary", "--", ""]).status, 2)
        let emptyOption = try run(["detect", "cfg/yolov3-tiny.cfg", "w.weights", "a.jpg", "--out", ""])
        XCTAssertEqual(emptyOption.status, 2)
        XCTAssertTrue(emptyOption.stderr.hasPrefix("swift-darknet detect: --out needs a value, not an empty one\n"), emptyOption.stderr)
    }
}
