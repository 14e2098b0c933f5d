import Foundation
import XCTest

final class DetectCommandTests: CLITestCase {
    static let cfg = """
        [net]
        width=32
        height=32
        channels=3
        [convolutional]
        filters=8
        size=3
        stride=2
        pad=1
        batch_normalize=1
        activation=leaky
        [convolutional]
        filters=14
        size=1
        activation=linear
        [yolo]
        mask=0,1
        classes=2
        num=2
        anchors=8,8,16,24
        """

    func testDetectPrintsJSONAndWritesAnnotatedPNGs() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(Self.cfg.utf8))
        let weights = cfg + ".weights"
        XCTAssertEqual(try run(["init", cfg, weights, "--seed", "2"]).status, 0)
        let names = try temporaryFile("two.names", contents: Data("cat\ndog\n".utf8))
        let image = Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures/gradient.jpg").path
        let out = (cfg as NSString).deletingLastPathComponent + "/annotated"
        let result = try run(["detect", cfg, weights, image, "--names", names, "--thresh", "0.3", "--json", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(json.count, 1)
        XCTAssertEqual(json[0]["image"] as? String, image)
        let detections = json[0]["detections"] as! [[String: Any]]
        XCTAssertFalse(detections.isEmpty)
        for detection in detections {
            XCTAssertTrue(["cat", "dog"].contains(detection["class"] as! String))
            XCTAssertGreaterThan(detection["prob"] as! Double, 0.3)
            let box = detection["box"] as! [Double]
            XCTAssertEqual(box.count, 4)
            XCTAssertTrue(box[0] >= 0 && box[0] <= box[2] && box[2] <= 31 && box[1] >= 0 && box[1] <= box[3] && box[3] <= 23, "\(box)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/gradient.png"))
    }

    /// NaN weights put NaN in every box's x: detect warns where the first NaN is, finds nothing
    /// and draws nothing (it trapped converting a NaN coordinate to a pixel).
    func testNaNWeightsWarnAndGiveNoBoxes() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(Self.cfg.utf8))
        let weights = cfg + ".nan.weights"
        XCTAssertEqual(try run(["init", cfg, weights, "--seed", "2"]).status, 0)
        // Layer 0 stores 248 floats (8 biases, scales, means, variances, 216 weights); layer 1's
        // biases follow: x of the first mask entry at 248, of the second at 248 + 7.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        for float in [248, 255] { bytes.replaceSubrange((20 + 4 * float)..<(24 + 4 * float), with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Data($0) }) }
        try bytes.write(to: URL(fileURLWithPath: weights))
        let image = Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures/gradient.jpg").path
        let out = (cfg as NSString).deletingLastPathComponent + "/annotated-nan"
        let names = try temporaryFile("two.names", contents: Data("cat\ndog\n".utf8))
        let result = try run(["detect", cfg, weights, image, "--names", names, "--thresh", "0.01", "--json", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "\(weights): byte 1012: warning: 2 floats are NaN or ±inf, the first in layer 1 [convolutional]: what depends on them will be NaN\n")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual((json[0]["detections"] as! [Any]).count, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/gradient.png"))
    }

    /// An output folder that cannot be made is a one-line error naming it (it printed a
    /// CocoaError's fields), before any image is read.
    func testAnOutputFolderInTheWayIsNamed() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(Self.cfg.utf8))
        let weights = cfg + ".weights"
        XCTAssertEqual(try run(["init", cfg, weights]).status, 0)
        let file = try temporaryFile("in-the-way", contents: Data())
        let names = try temporaryFile("two.names", contents: Data("cat\ndog\n".utf8))
        let image = Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures/gradient.png").path
        for (out, reason) in [(file, "a file of that name is in the way"), (file + "/sub", "Not a directory")] {
            let result = try run(["detect", cfg, weights, image, "--names", names, "--out", out])
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "\(out): error: cannot create the folder: \(reason)\n")
            XCTAssertEqual(result.stdout, "")
        }
    }

    func testBadImagesAreNamedAndTheRestStillRun() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(Self.cfg.utf8))
        let weights = cfg + ".weights"
        XCTAssertEqual(try run(["init", cfg, weights]).status, 0)
        let bad = try temporaryFile("broken.png", contents: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]))
        let good = Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures/gradient.png").path
        let out = (cfg as NSString).deletingLastPathComponent + "/annotated-bad"
        let result = try run(["detect", cfg, weights, bad, good, "--out", out, "--names", try temporaryFile("n", contents: Data("a\nb\n".utf8))])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("\(bad): error: corrupt PNG: "), result.stderr)
        XCTAssertTrue(result.stdout.contains("\(good): "), result.stdout)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, result.stderr)
        XCTAssertTrue(lines[1].hasPrefix("1 images in "), result.stderr)
        XCTAssertEqual(lines.last, "1 of 2 images failed")
        // One line per image: how many objects, how long, and where the annotated copy is.
        let line = try XCTUnwrap(result.stdout.split(separator: "\n").first)
        XCTAssertTrue(line.hasPrefix("\(good): ") && line.contains(" ms → \(out)/gradient.png"), String(line))
        let missing = try run(["detect", cfg, weights, good + ".gone", "--out", out, "--names", try temporaryFile("m", contents: Data("a\nb\n".utf8))])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "\(good).gone: error: cannot open the file: No such file or directory\n1 of 1 image failed\n")
        // A folder without images is a failed input too, not a silent success.
        let empty = (cfg as NSString).deletingLastPathComponent + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try run(["detect", cfg, weights, empty, good, "--out", out, "--names", try temporaryFile("e", contents: Data("a\nb\n".utf8))])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.hasPrefix("\(empty): error: the folder holds no .jpg, .jpeg or .png file\n"), none.stderr)
        XCTAssertTrue(none.stderr.hasSuffix("\n1 of 2 inputs failed\n"), none.stderr)
        let noNames = try run(["detect", cfg, weights, good, "--out", out, "--names", try temporaryFile("one", contents: Data("a\n".utf8))])
        XCTAssertEqual(noNames.status, 1)
        XCTAssertEqual(noNames.stderr, "\(cfg): error: the network predicts 2 classes but 1 names are given\n")
    }

    func testAFolderRunsItsJPEGAndPNGFilesInNameOrder() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(Self.cfg.utf8))
        let weights = cfg + ".weights"
        XCTAssertEqual(try run(["init", cfg, weights]).status, 0)
        let folder = (cfg as NSString).deletingLastPathComponent + "/images"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fixtures = Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures")
        for (fixture, name) in [("gradient.png", "b.PNG"), ("gradient.jpg", "a.jpeg"), ("gradient.jpg", "jpg"), ("gradient.png", "c.png.txt")] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(fixture), to: URL(fileURLWithPath: folder + "/" + name))
        }
        let names = try temporaryFile("two.names", contents: Data(" cat \r\n\ndog\t\n".utf8))
        let out = (cfg as NSString).deletingLastPathComponent + "/annotated-folder"
        for input in [folder, folder + "/"] {
            let result = try run(["detect", cfg, weights, input, "--names", names, "--thresh", "0.3", "--json", "--out", out])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [[String: Any]]
            XCTAssertEqual(json.map { $0["image"] as! String }, [folder + "/a.jpeg", folder + "/b.PNG"])
            let classes = json.flatMap { $0["detections"] as! [[String: Any]] }.map { $0["class"] as! String }
            XCTAssertFalse(classes.isEmpty)
            XCTAssertTrue(Set(classes).isSubset(of: ["cat", "dog"]), "\(Set(classes))")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["a.png", "b.png"])
        }
    }

    /// A Darknet .data file gives the names (found beside it when not where detect runs) and a
    /// class count that must be the cfg's.
    func testDataFileGivesNamesAndItsClassesAreChecked() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(Self.cfg.utf8))
        let weights = cfg + ".weights"
        XCTAssertEqual(try run(["init", cfg, weights, "--seed", "2"]).status, 0)
        _ = try temporaryFile("pets.names", contents: Data("cat\ndog\n".utf8))
        let data = try temporaryFile("pets.data", contents: Data("# two classes\nclasses = 2\ntrain = /nowhere/train.txt\nnames = pets.names\nbackup = backup/\n".utf8))
        let image = Self.root.appendingPathComponent("Tests/DarknetTests/Fixtures/gradient.jpg").path
        let out = (cfg as NSString).deletingLastPathComponent + "/annotated-data"
        let result = try run(["detect", cfg, weights, image, "--data", data, "--thresh", "0.3", "--json", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [[String: Any]]
        let classes = (json[0]["detections"] as! [[String: Any]]).map { $0["class"] as! String }
        XCTAssertFalse(classes.isEmpty)
        XCTAssertTrue(Set(classes).isSubset(of: ["cat", "dog"]), "\(classes)")

        let wrong = try temporaryFile("voc.data", contents: Data("classes= 20\nnames = pets.names\n".utf8))
        let mismatch = try run(["detect", cfg, weights, image, "--data", wrong, "--out", out])
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertEqual(mismatch.stderr, "\(wrong):1: error: classes=20, but the [yolo] layer at \(cfg):18 predicts 2\n")
        let noNames = try temporaryFile("lost.data", contents: Data("classes=2\nnames=lost.names\n".utf8))
        let lost = try run(["detect", cfg, weights, image, "--data", noNames, "--out", out])
        XCTAssertEqual(lost.status, 1)
        XCTAssertEqual(lost.stderr, "lost.names: error: cannot open the file: No such file or directory\n")
        let missing = try run(["detect", cfg, weights, image, "--data", noNames + ".gone", "--out", out])
        XCTAssertEqual(missing.stderr, "\(noNames).gone: error: cannot open the file: No such file or directory\n")
    }
}
