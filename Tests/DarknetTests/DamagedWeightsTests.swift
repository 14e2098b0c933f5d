import Foundation
import XCTest
@testable import Darknet

/// The catalogue of damaged weights files: each gives exactly this one-line diagnostic, and
/// nothing is half-loaded.
final class DamagedWeightsTests: XCTestCase {
    /// Layers: conv+BN (4·4 + 4·27 = 124 floats at 0), maxpool (0 at 124), conv (2 + 8 = 10 at
    /// 124), connected 32→3 (3 + 96 = 99 at 134): 233 floats.
    static let cfg = """
        [net]
        width=8
        height=8
        channels=3
        [convolutional]
        filters=4
        size=3
        pad=1
        batch_normalize=1
        activation=leaky
        [maxpool]
        size=2
        stride=2
        [convolutional]
        filters=2
        activation=linear
        [connected]
        output=3
        activation=linear
        """
    var definition: NetworkDefinition!
    var directory: URL!

    override func setUpWithError() throws {
        definition = try NetworkDefinition(cfg: CfgFile(text: Self.cfg, path: "small.cfg"))
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func header(major: Int32 = 0, minor: Int32 = 2, revision: Int32 = 0, seen: UInt64 = 7) -> [UInt8] {
        WeightsHeader(major: major, minor: minor, revision: revision, seen: seen).bytes
    }

    func body(_ count: Int) -> [UInt8] {
        (0..<count).map { Float($0) }.withUnsafeBytes { Array($0) }
    }

    func file(_ bytes: [UInt8], name: String = "w.weights") throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url, options: .atomic) // renamed into place: no lease is broken
        return url.path
    }

    func assertError(_ bytes: [UInt8], _ expected: String, allowPrefix: Bool = false,
                     file line: StaticString = #filePath, line number: UInt = #line) throws {
        let path = try file(bytes)
        for mapped in [false, true] {
            do {
                let weights = try NetworkWeights(contentsOf: path, for: definition, allowPrefix: allowPrefix, loading: mapped ? .leasedMapping : .read)
                XCTFail("loaded \(weights.floats.count) floats from a damaged file (mapped: \(mapped))", file: line, line: number)
            } catch let error as Diagnostic {
                XCTAssertEqual(error.description, expected.replacingOccurrences(of: "W", with: path, range: expected.range(of: "W")),
                               file: line, line: number)
            }
        }
    }

    func testLayout() {
        XCTAssertEqual(definition.layers.map(\.storedFloats), [124, 0, 10, 99])
    }

    func testWellFormedFilesLoad() throws {
        let wide = try NetworkWeights(contentsOf: try file(header() + body(233)), for: definition)
        XCTAssertEqual(wide.header, WeightsHeader(seen: 7))
        XCTAssertEqual(wide.floats, (0..<233).map(Float.init))
        XCTAssertEqual(wide.arrays(of: 0).map(\.count), [4, 4, 4, 4, 108])
        XCTAssertEqual(wide.arrays(of: 3).first?.first, 134)
        let old = try NetworkWeights(contentsOf: try file(header(minor: 1, seen: 9) + body(233)), for: definition)
        XCTAssertEqual(old.header.byteCount, 16)
        XCTAssertEqual(old.header.seen, 9)
        XCTAssertEqual(old.floats, wide.floats)
    }

    func testLoadedWeightsDoNotChangeWhenTheFileDoes() throws {
        // A file rewritten or truncated in place (a new download over the old one, Darknet's
        // training saving `_last.weights`) must neither change a loaded network nor crash it:
        // read weights are a copy; mapped ones are copied by the lease's handler before the
        // writer may open the file (the writer here is this very thread).
        for mapped in [false, true] {
            let path = try file(header() + body(233))
            let loaded = try NetworkWeights(contentsOf: path, for: definition, loading: mapped ? .leasedMapping : .read)
            XCTAssertEqual(loaded.isMapped, mapped)
            try shell(#"cat "$1" > "$2""#, try file(header(minor: 1) + body(10), name: "new.weights"), path)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)).count, 16 + 40) // version 0.1: a 16-byte header
            XCTAssertFalse(loaded.isMapped)
            XCTAssertEqual(loaded.floats, (0..<233).map(Float.init))
        }
    }

    func testMappedWeightsAreTheFilesFloatsInPlace() throws {
        for bytes in [header() + body(233), header(minor: 1, seen: 9) + body(233)] {
            let path = try file(bytes)
            let read = try NetworkWeights(contentsOf: path, for: definition, loading: .read)
            let mapped = try NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping)
            XCTAssertTrue(mapped.isMapped)
            XCTAssertFalse(read.isMapped)
            XCTAssertEqual(mapped.header, read.header)
            XCTAssertEqual(mapped.floats, read.floats)
            XCTAssertEqual(mapped.arrayRanges, read.arrayRanges)
            XCTAssertEqual(mapped.nonFiniteCount, 0)
            let input = Tensor(shape: [3, 8, 8], data: (0..<192).map { Float($0 % 7) / 7 })
            let outputs = try [read, mapped].map { try Network(definition: definition, weights: $0).forward(input)[3]!.data }
            XCTAssertEqual(outputs[1], outputs[0])
            XCTAssertFalse(outputs[0].isEmpty)
            // Written back over its own file: the new file is renamed into place, and the mapping
            // keeps the old one's pages (a rename opens nothing: the lease holds).
            try mapped.write(to: path)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(bytes))
            try Data(header() + body(233).reversed()).write(to: URL(fileURLWithPath: path), options: .atomic)
            XCTAssertEqual(mapped.floats, read.floats)
            XCTAssertTrue(mapped.isMapped)
        }
        // A float rewritten in place: the writer's open waits for the copy, which keeps the old value.
        let path = try file(header() + body(233), name: "in-place.weights")
        let mapped = try NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping)
        let minusOne = try file([Float(-1)].withUnsafeBytes { Array($0) }, name: "minus-one")
        try shell(#"dd if="$1" of="$2" bs=4 seek=10 conv=notrunc status=none"#, minusOne, path)
        XCTAssertEqual(try NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping).floats[5], -1)
        XCTAssertEqual(mapped.floats[5], 5)
        XCTAssertFalse(mapped.isMapped)

        let prefix = try NetworkWeights(contentsOf: try file(header() + body(134)), for: definition, allowPrefix: true, loading: .leasedMapping)
        XCTAssertTrue(prefix.isMapped)
        XCTAssertEqual(prefix.coveredLayers, 3)
        XCTAssertEqual(prefix.floats, (0..<134).map(Float.init))
    }

    /// Truncated by another process while a network runs on the mapped weights (the SIGBUS a
    /// bare mapping would die of): the network goes on with the weights it loaded, and is
    /// released cleanly after (its lease slot reused by later loads).
    func testMappedWeightsSurviveTruncationByAnotherProcess() throws {
        let input = Tensor(shape: [3, 8, 8], data: (0..<192).map { Float($0 % 5) / 5 })
        let expected = try Network(definition: definition, weights: NetworkWeights(contentsOf: try file(header() + body(233)), for: definition, loading: .read)).forward(input)[3]!.data
        for round in 0..<8 {
            let path = try file(header() + body(233), name: "truncated-\(round).weights")
            let network = try Network(definition: definition, weights: NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping))
            XCTAssertTrue(network.parameters.isMapped)
            try shell(#": > "$1""#, path)
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, 0)
            XCTAssertFalse(network.parameters.isMapped)
            XCTAssertEqual(try network.forward(input)[3]!.data, expected)
        }
    }

    /// Runs `script` with `sh -c`, `arguments` as $1…: the writers of these tests are other
    /// processes, as Darknet's training is. (In this process too, the writing thread takes the
    /// signal while its open waits, and the copy is made; but under ThreadSanitizer, which holds
    /// back signals until a thread leaves its interceptors, that open waits out the kernel's
    /// lease-break-time, 45 s, and the lease is broken without a copy.) `>` opens with O_TRUNC
    /// and waits for the lease; truncate(1) would open with O_NONBLOCK and be told EWOULDBLOCK.
    func shell(_ script: String, _ arguments: String..., line: UInt = #line) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, "sh"] + arguments
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, script, line: line)
    }

    /// A program that puts its own handler on the lease signal after the first mapped load would
    /// leave lease breaks unanswered (the writer waits 45 s, then the kernel breaks the lease
    /// without a copy): from then on, weights are read.
    func testWeightsAreReadWhileTheProgramHandlesTheLeaseSignal() throws {
        let path = try file(header() + body(233))
        XCTAssertTrue(try NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping).isMapped) // our handler goes in
        var own = sigaction(), previous = sigaction()
        own.__sigaction_handler.sa_sigaction = { _, _, _ in }
        own.sa_flags = SA_SIGINFO
        XCTAssertEqual(sigaction(LeasedMapping.signal, &own, &previous), 0)
        let whileTaken = try NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping)
        XCTAssertEqual(sigaction(LeasedMapping.signal, &previous, nil), 0)
        XCTAssertFalse(whileTaken.isMapped)
        XCTAssertEqual(whileTaken.floats, (0..<233).map(Float.init))
        XCTAssertTrue(try NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping).isMapped)
    }

    /// The library's default reads the file: no mapping, no lease, no signal handler.
    func testWeightsAreReadUnlessMappingIsAskedFor() throws {
        let loaded = try NetworkWeights(contentsOf: try file(header() + body(233)), for: definition)
        XCTAssertFalse(loaded.isMapped)
        XCTAssertEqual(loaded.floats, (0..<233).map(Float.init))
    }

    /// No lease while someone has the file open for writing: it is read, not mapped.
    func testWeightsOpenForWritingElsewhereAreRead() throws {
        let path = try file(header() + body(233))
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? writer.close() }
        let loaded = try NetworkWeights(contentsOf: path, for: definition, loading: .leasedMapping)
        XCTAssertFalse(loaded.isMapped)
        XCTAssertEqual(loaded.floats, (0..<233).map(Float.init))
    }

    /// A file of the right length can still hold NaN or ±inf: counted wherever they sit —
    /// inside a 4096-float block, at a block's end, on either side of the boundary between two
    /// of the megabyte pieces the reader checks as it goes, in the last block's scalar tail —
    /// and the same when weights made from floats are scanned afterwards.
    func testNonFiniteFloatsAreCounted() throws {
        let wide = try NetworkDefinition(cfg: CfgFile(text: "[net]\nwidth=1\nheight=1\nchannels=600\n[connected]\noutput=600\n", path: "wide.cfg"))
        XCTAssertEqual(wide.storedFloats, 360_600)
        var floats = (0..<360_600).map { Float($0 % 1000) }
        XCTAssertEqual(try NetworkWeights(contentsOf: try file(header() + floats.withUnsafeBytes { Array($0) }), for: wide, loading: .read).nonFiniteCount, 0)
        let damage = [(5, Float.nan), (8191, .infinity), (262_143, .nan), (262_144, -.infinity), (360_597, .nan), (360_599, -.infinity)]
        for (index, value) in damage { floats[index] = value }
        let damaged = try NetworkWeights(contentsOf: try file(header() + floats.withUnsafeBytes { Array($0) }), for: wide, loading: .leasedMapping)
        XCTAssertTrue(damaged.isMapped)
        XCTAssertEqual(damaged.nonFiniteCount, 6)
        XCTAssertEqual(try NetworkWeights(contentsOf: try file(header() + floats.withUnsafeBytes { Array($0) }), for: wide, loading: .read).nonFiniteCount, 6)
        XCTAssertEqual(try NetworkWeights(header: damaged.header, floats: floats, for: wide).nonFiniteCount, 6)
    }

    func testEmptyAndShortHeaders() throws {
        try assertError([], "W: error: the file is empty: expected a Darknet weights header (16 or 20 bytes)")
        try assertError(Array(header().prefix(10)), "W: error: the file is 10 bytes long: too short for a Darknet weights header (16 or 20 bytes)")
        try assertError(Array(header().prefix(18)), "W: error: the file is 18 bytes long: version 0.2.0 needs a 20-byte header")
    }

    func testAbsurdHeaders() throws {
        try assertError(header(major: Int32.max) + body(233),
                        "W: byte 0: error: header major version is 2147483647: not a Darknet weights file (versions are 0...9999)")
        try assertError(header(minor: -1) + body(233),
                        "W: byte 4: error: header minor version is -1: not a Darknet weights file (versions are 0...9999)")
        try assertError(Array("<!DOCTYPE html><html>not weights</html>".utf8),
                        "W: byte 0: error: header major version is 1329865020: not a Darknet weights file (versions are 0...9999)")
    }

    func testTruncation() throws {
        try assertError(header(), "W: byte 20: error: layer 0 [convolutional] at float offset 0 needs 124 floats, 0 remain; the file holds 0 floats after its header, small.cfg needs 233 (short by 233)")
        try assertError(header() + body(50), "W: byte 220: error: layer 0 [convolutional] at float offset 0 needs 124 floats, 50 remain; the file holds 50 floats after its header, small.cfg needs 233 (short by 183)")
        try assertError(header() + body(130), "W: byte 540: error: layer 2 [convolutional] at float offset 124 needs 10 floats, 6 remain; the file holds 130 floats after its header, small.cfg needs 233 (short by 103)")
        try assertError(header() + body(200), "W: byte 820: error: layer 3 [connected] at float offset 134 needs 99 floats, 66 remain; the file holds 200 floats after its header, small.cfg needs 233 (short by 33)")
        try assertError(Array((header() + body(233)).dropLast(2)), "W: byte 948: error: layer 3 [connected] at float offset 134 needs 99 floats, 98 remain; the file holds 232 floats after its header, small.cfg needs 233 (short by 1)")
        try assertError(header(minor: 1) + body(232), "W: byte 944: error: layer 3 [connected] at float offset 134 needs 99 floats, 98 remain; the file holds 232 floats after its header, small.cfg needs 233 (short by 1)")
    }

    func testPrefixIsExplicit() throws {
        try assertError(header() + body(134), "W: byte 556: error: layer 3 [connected] at float offset 134 needs 99 floats, 0 remain; the file holds 134 floats after its header, small.cfg needs 233 (short by 99); it ends at a layer boundary: load it as a prefix to use its first layers")
        let prefix = try NetworkWeights(contentsOf: try file(header() + body(134)), for: definition, allowPrefix: true, loading: .leasedMapping)
        XCTAssertEqual(prefix.coveredLayers, 3)
        try assertError(header() + body(130), "W: byte 540: error: layer 2 [convolutional] at float offset 124 needs 10 floats, 6 remain; the file holds 130 floats after its header, small.cfg needs 233 (short by 103)", allowPrefix: true)
    }

    func testTrailingBytesAndOtherCfgs() throws {
        try assertError(header() + body(234), "W: byte 952: error: 4 bytes remain after the last layer (3 [connected]); small.cfg needs 233 floats, the file holds 234: are these the weights of another cfg?")
        try assertError(header() + body(233) + [0, 0, 0], "W: byte 952: error: 3 bytes remain after the last layer (3 [connected]); small.cfg needs 233 floats, the file holds 233: are these the weights of another cfg?")
        // The weights of the same network with 5 classes instead of 3: 32·5 + 5 = 165 floats in the last layer.
        try assertError(header() + body(134 + 165), "W: byte 952: error: 264 bytes remain after the last layer (3 [connected]); small.cfg needs 233 floats, the file holds 299: are these the weights of another cfg?")
    }

    func testNotAFile() throws {
        do {
            _ = try NetworkWeights(contentsOf: directory.path, for: definition, loading: .leasedMapping)
            XCTFail("read a directory")
        } catch let error as Diagnostic {
            XCTAssertEqual(error.description, "\(directory.path): error: cannot read the file: Is a directory")
        }
        let missing = directory.appendingPathComponent("missing.weights").path
        XCTAssertThrowsError(try NetworkWeights(contentsOf: missing, for: definition, loading: .leasedMapping)) {
            XCTAssertEqual(($0 as? Diagnostic)?.description, "\(missing): error: cannot open the file: No such file or directory")
        }
    }

    func testWriterMirrorsReaderAndNeverLeavesPartialFiles() throws {
        for original in [header() + body(233), header(minor: 1, seen: 3) + body(233)] {
            let source = try file(original, name: "in.weights")
            let out = directory.appendingPathComponent("out.weights").path
            try NetworkWeights(contentsOf: source, for: definition, loading: .leasedMapping).write(to: out)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), Data(original))
        }
        let weights = try NetworkWeights(contentsOf: try file(header() + body(233)), for: definition)
        let cut = directory.appendingPathComponent("cut.weights").path
        try weights.write(to: cut, layers: 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: cut)), Data(header() + body(124)))

        let nowhere = directory.appendingPathComponent("no/such/dir/out.weights").path
        XCTAssertThrowsError(try weights.write(to: nowhere))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [])
    }

    func testTransposedConnectedWeightsAreTransposedOnVersionChange() throws {
        let weights = try NetworkWeights(contentsOf: try file(header() + body(233)), for: definition)
        let flagged = weights.with(header: WeightsHeader(major: 1001, minor: 0, revision: 0), definition: definition)
        XCTAssertEqual(flagged.header.byteCount, 16)
        let matrix = flagged.arrays(of: 3)[1]
        // Stored 3×32 (outputs × inputs) becomes 32×3: element (row r, column c) moves to c·3 + r.
        XCTAssertEqual(matrix[1], weights.arrays(of: 3)[1][32])
        XCTAssertEqual(flagged.with(header: WeightsHeader(), definition: definition).floats, weights.floats)
    }
}
