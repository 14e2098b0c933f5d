import Darknet
import Glibc

/// Where the OpenBLAS kernels of this run came from, for `bench` to report.
enum OpenBLASCoreOrigin {
    /// OpenBLAS's own detection, kept because it was right.
    case detected
    /// The user's `OPENBLAS_CORETYPE`.
    case environment
    /// The tool's choice, made because OpenBLAS's detection fell back to `detected`.
    case chosen(detected: String)

    /// Set once, at start-up, by `chooseOpenBLASCore`.
    nonisolated(unsafe) static var current = OpenBLASCoreOrigin.detected

    var description: String {
        switch self {
        case .detected: "detected by OpenBLAS"
        case .environment: "set by OPENBLAS_CORETYPE"
        case .chosen(let detected): "chosen by swift-darknet for this CPU (OpenBLAS detected \(detected))"
        }
    }

    var jsonName: String {
        switch self {
        case .detected: "detected"
        case .environment: "environment"
        case .chosen: "chosen"
        }
    }
}

/// Starts the tool again with `OPENBLAS_CORETYPE` set when OpenBLAS's own detection fell back to
/// older kernels than this CPU runs: OpenBLAS picks them when it is loaded, before any code of
/// ours runs. The second start finds the variables it was given, takes them back out of its
/// environment (so the processes it starts see the user's), and records the choice.
func chooseOpenBLASCore() {
    let marker = "SWIFT_DARKNET_OPENBLAS_DETECTED"
    if let detected = getenv(marker) {
        let (detected, requested) = (String(cString: detected), getenv("OPENBLAS_CORETYPE").map { String(cString: $0) } ?? "")
        unsetenv(marker)
        unsetenv("OPENBLAS_CORETYPE")
        // An OpenBLAS built for one CPU, or without the core, keeps its own kernels.
        guard KernelFamily(openBLASCore: BLAS.coreName) == KernelFamily(openBLASCore: requested) else {
            printError("swift-darknet: warning: OpenBLAS runs its \(BLAS.coreName) kernels, not the \(requested) ones this CPU runs: it was built without them")
            return
        }
        OpenBLASCoreOrigin.current = .chosen(detected: detected)
        return
    }
    if getenv("OPENBLAS_CORETYPE") != nil {
        OpenBLASCoreOrigin.current = .environment
        return
    }
    guard let core = BLAS.suggestedCore else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    setenv(marker, BLAS.coreName, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // Only reached when the exec failed: run on, slower, and say what would fix it.
    let reason = String(cString: strerror(errno))
    unsetenv(marker)
    unsetenv("OPENBLAS_CORETYPE")
    printError("swift-darknet: warning: OpenBLAS runs its \(BLAS.coreName) kernels, several times slower here than its \(core) ones, and starting again with them failed (\(reason)); set OPENBLAS_CORETYPE=\(core)")
}
