import Foundation
import XCTest

/// Every command explains itself: `-h`, `--help` and `help CMD` print its usage, generated from
/// the option table its parser reads.
final class HelpTests: CLITestCase {
    static let commands = ["summary", "inspect", "convert", "init", "run", "bench", "detect"]

    func testEveryCommandPrintsItsUsageThreeWays() throws {
        for command in Self.commands {
            let help = try run([command, "--help"])
            XCTAssertEqual(help.status, 0, command)
            XCTAssertEqual(help.stderr, "", command)
            XCTAssertTrue(help.stdout.hasPrefix("usage: swift-darknet \(command) CFG "), help.stdout)
            XCTAssertTrue(help.stdout.contains("\n  -h, --help "), help.stdout)
            // Help wins wherever it stands, before anything is opened or checked.
            for other in [[command, "-h"], ["help", command], [command, "no-such.cfg", "--runs", "x", "-h"]] {
                let result = try run(other)
                XCTAssertEqual(result.status, 0, "\(other)")
                XCTAssertEqual(result.stdout, help.stdout, "\(other)")
            }
        }
    }

    /// Each option the usage lists is one the parser takes: with no file named, the only
    /// complaint is the missing files, never an unknown option.
    func testTheUsageListsExactlyWhatTheParserTakes() throws {
        for command in Self.commands {
            let help = try run([command, "--help"]).stdout
            let options = help.split(separator: "\n").filter { $0.hasPrefix("  --") }.map { line in
                line.dropFirst(2).split(separator: " ").prefix(2).map(String.init)
            }
            XCTAssertGreaterThanOrEqual(options.count, 5, help)
            XCTAssertTrue(options.contains(["--strict", "make"]) && options.contains { $0[0] == "--memory-limit" }, "\(command): \(options)")
            for option in options {
                // "--thresh T" takes a value; "--json print…" is a flag.
                let takesValue = option[1].first!.isUppercase || option[1].contains("|")
                let result = try run([command] + (takesValue ? [option[0], "1"] : [option[0]]))
                XCTAssertEqual(result.status, 2, "\(command) \(option)")
                XCTAssertTrue(result.stderr.hasPrefix("swift-darknet \(command): expected CFG"), "\(command) \(option): \(result.stderr)")
            }
        }
    }

    func testDarknetsOneDashSpellingIsAUsageErrorThatNamesOurs() throws {
        let thresh = try run(["detect", "yolov3.cfg", "yolov3.weights", "dog.jpg", "-thresh", "0.25"])
        XCTAssertEqual(thresh.status, 2)
        XCTAssertEqual(thresh.stdout, "")
        XCTAssertEqual(thresh.stderr, """
            swift-darknet detect: unknown option -thresh; did you mean --thresh?
            usage: swift-darknet detect CFG WEIGHTS IMAGE|FOLDER… [options]
            'swift-darknet help detect' lists the options

            """)
        let unknown = try run(["detect", "yolov3.cfg", "yolov3.weights", "dog.jpg", "-dont_show"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.hasPrefix("swift-darknet detect: unknown option -dont_show\n"), unknown.stderr)
        let typo = try run(["summary", "cfg/yolov3.cfg", "--jsno"])
        XCTAssertEqual(typo.status, 2)
        XCTAssertTrue(typo.stderr.hasPrefix("swift-darknet summary: unknown option --jsno; did you mean --json?\n"), typo.stderr)
        let flagValue = try run(["summary", "cfg/yolov3.cfg", "--json=yes"])
        XCTAssertEqual(flagValue.status, 2)
        XCTAssertTrue(flagValue.stderr.hasPrefix("swift-darknet summary: --json takes no value\n"), flagValue.stderr)
        // A file whose name starts with a dash is still reachable after `--`.
        let dashed = try run(["summary", "--", "-thresh"])
        XCTAssertEqual(dashed.stderr, "-thresh: error: cannot open the file: No such file or directory\n")
    }

    func testGlobalHelpAndVersion() throws {
        for arguments in [["--help"], ["-h"], ["help"]] {
            let help = try run(arguments)
            XCTAssertEqual(help.status, 0, "\(arguments)")
            XCTAssertTrue(help.stdout.hasPrefix("usage: swift-darknet COMMAND"), help.stdout)
            for command in Self.commands { XCTAssertTrue(help.stdout.contains("\n  \(command) "), "\(command) in \(help.stdout)") }
        }
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.hasPrefix("swift-darknet ") && version.stdout.split(separator: ".").count == 3, version.stdout)
        let none = try run([])
        XCTAssertEqual(none.status, 2)
        XCTAssertTrue(none.stderr.hasPrefix("usage: swift-darknet COMMAND"), none.stderr)
        let unknown = try run(["help", "frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.hasPrefix("swift-darknet: unknown command 'frobnicate'\n"), unknown.stderr)
    }
}
