import Foundation
import XCTest

/// Every error on a path names it and gives the system's reason, in errno's words.
final class PathErrorTests: CLITestCase {
    func testMissingFilesAndFoldersSayWhy() throws {
        let cfg = try temporaryFile("small.cfg", contents: Data(WeightsCommandTests.cfg.utf8))
        let folder = (cfg as NSString).deletingLastPathComponent
        let missing = folder + "/missing"
        let cases: [([String], String)] = [
            (["summary", missing], "\(missing): error: cannot open the file: No such file or directory"),
            (["summary", folder], "\(folder): error: cannot read the file: Is a directory"),
            (["inspect", cfg, missing], "\(missing): error: cannot open the file: No such file or directory"),
            (["inspect", cfg, folder], "\(folder): error: cannot read the file: Is a directory"),
            (["init", cfg, missing + "/out.weights"], "\(missing)/out.weights: error: cannot create a temporary file beside it: No such file or directory"),
            (["init", cfg, folder], "\(folder): error: cannot rename the finished file into place: Is a directory"),
        ]
        for (arguments, expected) in cases {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments)")
            XCTAssertEqual(result.stderr, expected + "\n", "\(arguments)")
        }
    }

    func testDetectNamesTheImageAndNamesFileThatCannotBeRead() throws {
        let cfg = try temporaryFile("detect.cfg", contents: Data(DetectCommandTests.cfg.utf8))
        let weights = cfg + ".weights"
        XCTAssertEqual(try run(["init", cfg, weights]).status, 0)
        let folder = (cfg as NSString).deletingLastPathComponent
        let names = try temporaryFile("two.names", contents: Data("cat\ndog\n".utf8))
        let missingNames = try run(["detect", cfg, weights, "x.jpg", "--names", folder + "/none.names"])
        XCTAssertEqual(missingNames.status, 1)
        XCTAssertEqual(missingNames.stderr, "\(folder)/none.names: error: cannot open the file: No such file or directory\n")
        let image = try run(["detect", cfg, weights, folder + "/none.jpg", "--names", names, "--out", folder + "/out"])
        XCTAssertEqual(image.status, 1)
        XCTAssertEqual(image.stderr, "\(folder)/none.jpg: error: cannot open the file: No such file or directory\n1 of 1 image failed\n")
    }

    /// Root reads everything, so this runs only where permissions are real.
    func testAnUnreadableFileSaysPermissionDenied() throws {
        try XCTSkipIf(geteuid() == 0, "root reads files whatever their mode")
        let cfg = try temporaryFile("locked.cfg", contents: Data(WeightsCommandTests.cfg.utf8))
        XCTAssertEqual(chmod(cfg, 0), 0)
        let result = try run(["summary", cfg])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "\(cfg): error: cannot open the file: Permission denied\n")
    }
}
