import Foundation
import XCTest

final class TrainCommandTests: CLITestCase {
    static let cfg = "[net]\nbatch=4\nsubdivisions=2\nwidth=8\nheight=8\nchannels=3\nlearning_rate=0.05\n"
        + "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
        + "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[avgpool]\n[softmax]\n"

    /// A cfg and DIR/train/{png,jpg}/ and DIR/val/{png,jpg}/ holding copies of the fixtures.
    func files() throws -> (cfg: String, data: String) {
        let cfg = try temporaryFile("tiny.cfg", contents: Data(Self.cfg.utf8))
        let data = URL(fileURLWithPath: cfg).deletingLastPathComponent().appendingPathComponent("set").path
        for (split, copies) in [("train", 3), ("val", 1)] {
            for kind in ["png", "jpg"] {
                let folder = "\(data)/\(split)/\(kind)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let fixture = Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures/gradient.\(kind)")
                for copy in 0..<copies {
                    try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: "\(folder)/\(copy).\(kind)"))
                }
            }
        }
        return (cfg, data)
    }

    func seen(_ path: String) throws -> UInt64 {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        return bytes[12..<20].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    func testTrainWritesNamesFinalWeightsAndResumes() throws {
        let (cfg, data) = try files()
        let out = URL(fileURLWithPath: data).deletingLastPathComponent().appendingPathComponent("out").path
        let result = try run(["train", cfg, "--data", data, "--out", out, "--epochs", "2", "--seed", "4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertTrue(lines[0].hasPrefix("\(cfg): 6 training images in 2 classes (2 for validation); batch 4 in 2 subdivisions; from iteration 0"), result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("iteration 1 (epoch 0.67): loss ") && $0.contains(" images/s, ETA ") }, result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("epoch 1: validation top-1 ") }, result.stdout)
        XCTAssertEqual(lines.last, "saved \(out)/tiny_final.weights")
        XCTAssertEqual(try String(contentsOfFile: out + "/tiny.names", encoding: .utf8), "jpg\npng\n")
        XCTAssertEqual(try seen(out + "/tiny_final.weights"), 12) // 3 iterations of 4 reach 2 epochs of 6

        let resumed = try run(["train", cfg, "--data", data, "--out", out, "--epochs", "4", "--weights", out + "/tiny_final.weights"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at iteration 3 (seen 12)"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("\niteration 4 (epoch 2.67)"), resumed.stdout)
        XCTAssertEqual(try seen(out + "/tiny_final.weights"), 24)
    }

    func testCtrlCSavesAndExits130() throws {
        let (cfg, data) = try files()
        let out = URL(fileURLWithPath: data).deletingLastPathComponent().appendingPathComponent("out").path
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["train", cfg, "--data", data, "--out", out, "--epochs", "100000"]
        let stdout = Pipe(), stderr = Pipe()
        (process.standardOutput, process.standardError) = (stdout, stderr)
        try process.run()
        // Wait for training to be under way, then interrupt.
        var seenSoFar = Data()
        while !String(decoding: seenSoFar, as: UTF8.self).contains("\niteration ") {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seenSoFar += chunk
        }
        process.interrupt()
        _ = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, errors)
        XCTAssertTrue(errors.hasPrefix("interrupted: the weights so far (seen "), errors)
        XCTAssertTrue(errors.hasSuffix(" are saved in \(out)/tiny.backup; --weights \(out)/tiny.backup resumes\n"), errors)
        XCTAssertGreaterThan(try seen(out + "/tiny.backup"), 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["tiny.backup", "tiny.names"])
    }

    /// A cfg with a [yolo] layer trains from a .data file's box labels and validates by mAP@0.5.
    func testADetectorTrainsFromADataFile() throws {
        let cfg = try temporaryFile("det.cfg", contents: Data(("[net]\nbatch=2\nwidth=16\nheight=16\nchannels=3\nlearning_rate=0.01\n"
            + "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
            + "[convolutional]\nfilters=6\nsize=1\nactivation=linear\n[yolo]\nclasses=1\nnum=1\nmask=0\nanchors=6,6\n").utf8))
        let folder = URL(fileURLWithPath: cfg).deletingLastPathComponent().path
        var list = ""
        for (index, kind) in ["png", "jpg", "png"].enumerated() {
            let image = "\(folder)/\(index).\(kind)"
            try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures/gradient.\(kind)").path, toPath: image)
            try "0 0.5 0.5 0.4 0.3\n".write(toFile: "\(folder)/\(index).txt", atomically: true, encoding: .utf8)
            list += image + "\n"
        }
        try list.write(toFile: folder + "/list.txt", atomically: true, encoding: .utf8)
        let data = try temporaryFile("det.data", contents: Data("classes=1\ntrain=\(folder)/list.txt\nvalid=\(folder)/list.txt\n".utf8))
        let out = folder + "/out"
        let result = try run(["train", cfg, "--data", data, "--out", out, "--epochs", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("\(cfg): 3 training images in 1 class (3 for validation); batch 2 in 1 subdivisions"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nepoch 2: validation mAP@0.5 "), result.stdout)
        XCTAssertEqual(try seen(out + "/det_final.weights"), 6)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["det_final.weights"])

        let fromFolder = try run(["train", cfg, "--data", folder, "--out", out, "--epochs", "1"])
        XCTAssertEqual(fromFolder.status, 1)
        XCTAssertTrue(fromFolder.stderr.hasPrefix("\(folder): error: a detector trains from a .data file"), fromFolder.stderr)
    }

    func testBenchTrainTimesStepsAgainstForwardPasses() throws {
        let cfg = try temporaryFile("tiny.cfg", contents: Data(Self.cfg.utf8))
        let result = try run(["bench", cfg, "--train", "--batch", "3", "--runs", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let pattern = #"^batch 3, medians over 2 runs: forward [0-9.]+ ms \(inference\), training forward [0-9.]+ ms, backward [0-9.]+ ms, update [0-9.]+ ms\nbackward / training forward [0-9.]+, step / forward [0-9.]+; OpenBLAS "#
        XCTAssertNotNil(result.stdout.range(of: pattern, options: .regularExpression), result.stdout)
        let untrainable = try temporaryFile("dropout.cfg", contents: Data((Self.cfg + "[dropout]\n").utf8))
        XCTAssertEqual(try run(["bench", untrainable, "--train"]).status, 1)
    }

    func testBadInputIsOneLineAndAnExitStatus() throws {
        let (cfg, data) = try files()
        let folder = URL(fileURLWithPath: data).deletingLastPathComponent().path
        let missing = try run(["train", cfg, "--out", folder + "/out"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.hasPrefix("swift-darknet train: --data DIR|FILE.data is required"), missing.stderr)
        XCTAssertEqual(try run(["train", cfg, "--data", data, "--out", folder + "/out", "--epochs", "0"]).status, 2)

        let inTheWay = try temporaryFile("file", contents: Data())
        let unwritable = try run(["train", cfg, "--data", data, "--out", inTheWay, "--epochs", "1"])
        XCTAssertEqual(unwritable.status, 1)
        XCTAssertEqual(unwritable.stderr, "\(inTheWay): error: cannot create the folder: a file of that name is in the way\n")

        let empty = folder + "/empty"
        try FileManager.default.createDirectory(atPath: empty + "/train", withIntermediateDirectories: true)
        let noImages = try run(["train", cfg, "--data", empty, "--out", folder + "/out", "--epochs", "1"])
        XCTAssertEqual(noImages.status, 1)
        XCTAssertTrue(noImages.stderr.hasPrefix(empty), noImages.stderr)
        XCTAssertEqual(noImages.stderr.split(separator: "\n").count, 1, noImages.stderr)

        let threeClasses = try temporaryFile("three.cfg", contents: Data(Self.cfg.replacingOccurrences(of: "filters=2", with: "filters=3").utf8))
        let wrongCount = try run(["train", threeClasses, "--data", data, "--out", folder + "/out", "--epochs", "1"])
        XCTAssertEqual(wrongCount.status, 1)
        XCTAssertTrue(wrongCount.stderr.contains("2 classes, but the network's last layer has 3 outputs"), wrongCount.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/out"))

        let gray = try temporaryFile("gray.cfg", contents: Data(Self.cfg.replacingOccurrences(of: "channels=3", with: "channels=1").utf8))
        let oneChannel = try run(["train", gray, "--data", data, "--out", folder + "/out", "--epochs", "1"])
        XCTAssertEqual(oneChannel.status, 1)
        XCTAssertEqual(oneChannel.stderr, "\(gray): error: [net] channels=1, but training reads RGB images: expected channels=3\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/out"))

        // Logits without [softmax]: every delta is zero, so the run is refused before it writes.
        let logits = try temporaryFile("logits.cfg", contents: Data(Self.cfg.replacingOccurrences(of: "[softmax]\n", with: "").utf8))
        let noLoss = try run(["train", logits, "--data", data, "--out", folder + "/out", "--epochs", "1"])
        XCTAssertEqual(noLoss.status, 1)
        XCTAssertEqual(noLoss.stderr, "\(logits):18: error: no layer computes a loss, so training would learn nothing: the network ends in layer 2 [avgpool]; "
                       + "expected [softmax] after a classifier's class outputs, or [yolo] heads for a detector\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/out"))
    }
}
