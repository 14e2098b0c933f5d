import Foundation
import XCTest

/// Runs the built `swift-darknet` binary, as a user would.
class CLITestCase: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        // The test bundle sits next to the products it was built with.
        let beside = Bundle.main.bundleURL.appendingPathComponent("swift-darknet")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return Bundle(for: CLITestCase.self).bundleURL.deletingLastPathComponent().appendingPathComponent("swift-darknet")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// - Parameter environment: variables to set (a nil value removes one) in this process's environment.
    func run(_ arguments: [String], environment: [String: String?] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        process.currentDirectoryURL = Self.root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The folder of this test's files, removed when it ends.
    private var scratch: URL?

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
        try super.tearDownWithError()
    }

    func temporaryFile(_ name: String, contents: Data) throws -> String {
        let directory = scratch ?? FileManager.default.temporaryDirectory.appendingPathComponent("swift-darknet-tests-\(UUID().uuidString)")
        scratch = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url)
        return url.path
    }
}
