import Foundation
import XCTest

final class ClassifyCommandTests: CLITestCase {
    static let cfg = """
        [net]
        width=16
        height=16
        channels=3
        [convolutional]
        filters=4
        size=3
        stride=2
        pad=1
        batch_normalize=1
        activation=swish
        [maxpool]
        size=5
        stride=1
        [connected]
        output=3
        activation=linear
        [softmax]
        """

    static let fixtures = root.appendingPathComponent("Tests/DarknetTests/Fixtures").path

    /// A cfg with random weights, and `names` (when given) beside the weights as `<base>.names`.
    func classifier(names: String? = nil) throws -> (cfg: String, weights: String) {
        let cfg = try temporaryFile("shapes.cfg", contents: Data(Self.cfg.utf8))
        let weights = (cfg as NSString).deletingLastPathComponent + "/shapes_final.weights"
        XCTAssertEqual(try run(["init", cfg, weights, "--seed", "3"]).status, 0)
        if let names { _ = try temporaryFile("shapes_final.names", contents: Data(names.utf8)) }
        return (cfg, weights)
    }

    func json(_ text: String) throws -> [[String: Any]] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], text)
    }

    /// Every class's probability, best first, named from the .names beside the weights; they sum to 1.
    func testJSONListsTopClassesWithNamesBesideTheWeights() throws {
        let (cfg, weights) = try classifier(names: "circle\nsquare\ntriangle\n")
        let images = ["gradient.png", "gradient.jpg"].map { Self.fixtures + "/" + $0 }
        let result = try run(["classify", cfg, weights] + images + ["--top", "3", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let reports = try json(result.stdout)
        XCTAssertEqual(reports.map { $0["image"] as? String }, images)
        for report in reports {
            let top = try XCTUnwrap(report["top"] as? [[String: Any]])
            let probabilities = top.map { $0["prob"] as! Double }
            XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(probabilities, probabilities.sorted(by: >))
            XCTAssertEqual(Set(top.map { $0["class_id"] as! Int }), [0, 1, 2])
            for entry in top {
                XCTAssertEqual(entry["class"] as? String, ["circle", "square", "triangle"][entry["class_id"] as! Int])
            }
        }
        // The text form prints the same classes and percentages, --top 1 only the best.
        let text = try run(["classify", cfg, weights, images[0], "--top", "1"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let best = try XCTUnwrap((reports[0]["top"] as? [[String: Any]])?.first)
        XCTAssertEqual(text.stdout, "\(images[0]):\n" + String(format: "  %6.2f%%  ", 100 * (best["prob"] as! Double)) + (best["class"] as! String) + "\n")
    }

    /// Where `train` writes them, `<cfg>.names` beside `<cfg>_final.weights` names the classes,
    /// whatever other .names files the folder holds.
    func testNamesOfTheCfgBesideTheWeights() throws {
        let (cfg, weights) = try classifier()
        _ = try temporaryFile("shapes.names", contents: Data("circle\nsquare\ntriangle\n".utf8))
        _ = try temporaryFile("other.names", contents: Data("a\nb\n".utf8))
        let result = try run(["classify", cfg, weights, Self.fixtures + "/gradient.png", "--json", "--top", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let top = try XCTUnwrap(try json(result.stdout).first?["top"] as? [[String: Any]])
        XCTAssertEqual(top.map { $0["class"] as? String }, top.map { ["circle", "square", "triangle"][$0["class_id"] as! Int] })
    }

    /// Without names, classes are numbered; --names with the wrong count is an error.
    func testNamesDefaultToNumbersAndMustMatchTheOutputs() throws {
        let (cfg, weights) = try classifier()
        let image = Self.fixtures + "/gradient.png"
        let result = try run(["classify", cfg, weights, image, "--json", "--top", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let top = try XCTUnwrap(try json(result.stdout).first?["top"] as? [[String: Any]])
        XCTAssertEqual(top.map { $0["class"] as? String }, top.map { String($0["class_id"] as! Int) })
        let names = try temporaryFile("four.names", contents: Data("a\nb\nc\nd\n".utf8))
        let wrong = try run(["classify", cfg, weights, image, "--names", names])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertEqual(wrong.stderr, "\(names): error: 4 class names, but the last layer of \(cfg) has 3 outputs\n")
        XCTAssertEqual(wrong.stdout, "")
    }

    /// A .data file's labels= names the classes, checked against its classes=.
    func testDataFileGivesLabels() throws {
        let (cfg, weights) = try classifier()
        _ = try temporaryFile("labels.txt", contents: Data("x\ny\nz\n".utf8))
        let data = try temporaryFile("cls.data", contents: Data("classes=3\nlabels=labels.txt\n".utf8))
        let result = try run(["classify", cfg, weights, Self.fixtures + "/gradient.png", "--data", data, "--json", "--top", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let top = try XCTUnwrap(try json(result.stdout).first?["top"] as? [[String: Any]])
        XCTAssertEqual(Set(top.map { $0["class"] as! String }), ["x", "y", "z"])
        let bad = try temporaryFile("bad.data", contents: Data("classes=2\nlabels=labels.txt\n".utf8))
        let failed = try run(["classify", cfg, weights, Self.fixtures + "/gradient.png", "--data", bad])
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.hasPrefix("\(bad):1: error: classes=2, but "), failed.stderr)
    }

    /// In a folder a file that does not decode is a warning and the others run; named alone it
    /// is an error; a folder without images is an error.
    func testBadImagesAndEmptyFolders() throws {
        let (cfg, weights) = try classifier()
        let folder = (cfg as NSString).deletingLastPathComponent + "/images"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let broken = folder + "/broken.png"
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: broken))
        try FileManager.default.copyItem(atPath: Self.fixtures + "/gradient.png", toPath: folder + "/good.png")
        let result = try run(["classify", cfg, weights, folder, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "\(broken): warning: unsupported image: the file is neither JPEG nor PNG (expected JPEG or PNG); skipped\n")
        XCTAssertEqual(try json(result.stdout).map { $0["image"] as? String }, [folder + "/good.png"])

        let alone = try run(["classify", cfg, weights, broken])
        XCTAssertEqual(alone.status, 1)
        XCTAssertEqual(alone.stderr, "\(broken): error: unsupported image: the file is neither JPEG nor PNG (expected JPEG or PNG)\n1 of 1 input failed\n")

        let empty = folder + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try run(["classify", cfg, weights, empty])
        XCTAssertEqual(none.status, 1)
        XCTAssertEqual(none.stderr, "\(empty): error: the folder holds no .jpg, .jpeg or .png file\n1 of 1 input failed\n")
    }

    func testUsageErrors() throws {
        XCTAssertEqual(try run(["classify", "a.cfg"]).status, 2)
        XCTAssertEqual(try run(["classify", "a.cfg", "b.weights", "c.png", "--top", "0"]).status, 2)
        let help = try run(["help", "classify"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--top K"), help.stdout)
    }
}
