import Foundation
import XCTest

/// The tool runs the newest OpenBLAS kernels this machine allows, whatever OpenBLAS detects itself.
final class OpenBLASCoreTests: CLITestCase {
    let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"

    /// The kernel family a processor with these /proc/cpuinfo flags runs at least (the kernel lists
    /// AVX and AVX-512 only where it saves their registers): 0 pre-AVX2, 1 AVX2, 2 AVX-512.
    static func expectedFamily(flags: Set<Substring>) -> Int {
        if ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx2", "fma"].allSatisfy(flags.contains) { return 2 }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return 1 }
        return 0
    }

    /// The family of an OpenBLAS core name, as its x86-64 kernels are built.
    static func family(ofCore name: String) -> Int {
        switch name {
        case "SkylakeX", "Cooperlake", "SapphireRapids": 2
        case "Haswell", "Zen", "Excavator": 1
        default: 0
        }
    }

    func testCoreIsNoWeakerThanTheCPUAllows() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try XCTUnwrap(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: ":")[1].split(separator: " "))
        let path = try temporaryFile("small.cfg", contents: Data(cfg.utf8))
        let result = try run(["bench", path, "--runs", "1", "--json"], environment: ["OPENBLAS_CORETYPE": nil])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let core = try XCTUnwrap(json["blas_core"] as? String)
        XCTAssertGreaterThanOrEqual(Self.family(ofCore: core), Self.expectedFamily(flags: flags),
                                    "OpenBLAS runs \(core) kernels on a CPU with \(flagsLine)")
        XCTAssertNotEqual(json["blas_core_origin"] as? String, "environment")
        XCTAssertFalse((json["cpu"] as? String ?? "").isEmpty, result.stdout)
    }

    /// A core the user names stands, even a weaker one, and the choice is reported as theirs.
    func testUsersCoreTypeWins() throws {
        let path = try temporaryFile("small.cfg", contents: Data(cfg.utf8))
        let result = try run(["bench", path, "--runs", "1", "--json"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["blas_core"] as? String, "Prescott")
        XCTAssertEqual(json["blas_core_origin"] as? String, "environment")
    }
}
