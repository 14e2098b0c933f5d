import COpenBLAS
import Dispatch
import FoundationEssentials
import Glibc

/// The OpenBLAS this process runs with: benchmarks print its core and thread count.
public enum BLAS {
    /// The kernel OpenBLAS chose (or `OPENBLAS_CORETYPE` forced), e.g. "Cooperlake".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The core to run OpenBLAS with when its own detection fell back to pre-AVX2 kernels on a
    /// processor that has newer ones (Debian's OpenBLAS 0.3.21 takes CPUs newer than itself
    /// for a Prescott, whose SSE3 kernels waste AVX-512); nil when the kernels in use are right, or when
    /// `OPENBLAS_CORETYPE` is set, whose choice stands. OpenBLAS picks its kernels when it is
    /// loaded: a program acts on this by starting itself again with `OPENBLAS_CORETYPE` set to
    /// it (as the swift-darknet tool does), or tells its user to.
    public static var suggestedCore: String? {
        guard getenv("OPENBLAS_CORETYPE") == nil else { return nil }
        let inUse = KernelFamily(openBLASCore: coreName), available = Processor.current.kernels
        return inUse < .avx2 && available >= .avx2 ? available.openBLASCore : nil
    }

    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// Runs `body` with OpenBLAS single-threaded, for callers that split the work over the cores
    /// themselves and call it from each. Lowering the count only sets it; the workers stay. Contexts
    /// on several threads may be in such sections at once (the thread count is the process's):
    /// the first to enter lowers it, the last to leave restores it.
    static func singleThreaded(_ body: () -> Void) {
        sectionsQueue.sync {
            if sections.active == 0 { (sections.restore, threads) = (threads, 1) }
            sections.active += 1
        }
        defer {
            sectionsQueue.sync {
                sections.active -= 1
                if sections.active == 0 { threads = sections.restore }
            }
        }
        body()
    }

    // Guarded by a serial queue rather than Synchronization's Mutex: the standard library is not
    // built for ThreadSanitizer, which then reports every use of a Mutex as a race.
    private static let sectionsQueue = DispatchQueue(label: "BLAS.singleThreaded")
    nonisolated(unsafe) private static var sections = (active: 0, restore: 1)

    /// OpenBLAS's default: its idle workers spin for 2^28 CPU cycles (about 0.1 s) before they sleep.
    public static let defaultWorkerSpin = 28

    /// How long OpenBLAS's worker threads spin after a threaded call before they sleep, as log2
    /// of CPU cycles (4...30): what `OPENBLAS_THREAD_TIMEOUT` sets at start-up. A spinning worker
    /// calls sched_yield in a loop, and a network runs its own passes over the cores between
    /// GEMMs, so with the default the two compete for the cores (the spinning shows in profiles
    /// as time in sched_yield). Setting it restarts the workers: do it before any work, not
    /// while other threads call OpenBLAS. nil, and setting it does nothing, with an OpenBLAS
    /// built without threads.
    public static var workerSpin: Int? {
        get {
            guard let server = ThreadServer.entryPoints else { return nil }
            let log2Cycles = Int(server.timeout())
            return log2Cycles > 0 ? min(max(log2Cycles, 4), 30) : defaultWorkerSpin
        }
        set {
            guard let server = ThreadServer.entryPoints, let newValue else { return }
            let previous = ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"]
            setenv("OPENBLAS_THREAD_TIMEOUT", String(min(max(newValue, 4), 30)), 1)
            server.readEnvironment()
            // Leave the environment as it was, for the processes this one starts.
            if let previous { setenv("OPENBLAS_THREAD_TIMEOUT", previous, 1) } else { unsetenv("OPENBLAS_THREAD_TIMEOUT") }
            _ = server.shutdown()
        }
    }

    /// Functions that libopenblas exports but declares in none of its headers: it reads its
    /// OPENBLAS_* environment again (`openblas_read_env`), reports OPENBLAS_THREAD_TIMEOUT as
    /// read (`openblas_thread_timeout`, 0 when unset) and stops its workers, which its next
    /// threaded call starts again with the values read (`blas_thread_shutdown_`). Looked up at
    /// run time, as a single-threaded build has no `blas_thread_shutdown_`: linking to it would
    /// keep the program from starting there.
    private struct ThreadServer {
        let readEnvironment: @convention(c) () -> Void
        let timeout: @convention(c) () -> Int32
        let shutdown: @convention(c) () -> Int32

        static let entryPoints: ThreadServer? = {
            func lookUp<Function>(_ name: String, as type: Function.Type) -> Function? {
                dlsym(nil, name).map { unsafeBitCast($0, to: type) } // nil handle: RTLD_DEFAULT, every loaded library
            }
            guard let read = lookUp("openblas_read_env", as: (@convention(c) () -> Void).self),
                  let timeout = lookUp("openblas_thread_timeout", as: (@convention(c) () -> Int32).self),
                  let shutdown = lookUp("blas_thread_shutdown_", as: (@convention(c) () -> Int32).self) else { return nil }
            return ThreadServer(readEnvironment: read, timeout: timeout, shutdown: shutdown)
        }()
    }
}
