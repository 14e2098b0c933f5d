import COpenBLAS
import Foundation

/// The OpenBLAS this process runs with: benchmarks print its core and thread count.
public enum BLAS {
    /// The kernel OpenBLAS chose (or `OPENBLAS_CORETYPE` forced), e.g. "Cooperlake".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// OpenBLAS's default: its idle workers spin for 2^28 CPU cycles (about 0.1 s) before they sleep.
    public static let defaultWorkerSpin = 28

    /// How long OpenBLAS's worker threads spin after a threaded call before they sleep, as log2
    /// of CPU cycles (4...30): what `OPENBLAS_THREAD_TIMEOUT` sets at start-up. A spinning worker
    /// calls sched_yield in a loop, and a network runs its own passes over the cores between
    /// GEMMs, so with the default the two compete for the cores (perf: 12–16 % of the samples of
    /// yolov3-tiny in sched_yield). Setting it restarts the workers: do it before any work, not
    /// while other threads call OpenBLAS.
    public static var workerSpin: Int {
        get {
            let log2Cycles = Int(openblas_thread_timeout())
            return log2Cycles > 0 ? min(max(log2Cycles, 4), 30) : defaultWorkerSpin
        }
        set {
            let previous = ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"]
            setenv("OPENBLAS_THREAD_TIMEOUT", String(min(max(newValue, 4), 30)), 1)
            openblas_read_env()
            // Leave the environment as it was, for the processes this one starts.
            if let previous { setenv("OPENBLAS_THREAD_TIMEOUT", previous, 1) } else { unsetenv("OPENBLAS_THREAD_TIMEOUT") }
            _ = blas_thread_shutdown_()
        }
    }
}
