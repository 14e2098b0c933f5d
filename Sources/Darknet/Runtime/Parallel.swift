import Dispatch
import FoundationEssentials

/// Splits element-wise work over the cores while OpenBLAS threads the GEMMs. Work too small to
/// repay a dispatch runs on the calling thread.
enum Parallel {
    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Below this many floats touched, one thread is faster.
    static let minimumWork = 1 << 15

    /// Calls `body` with disjoint ranges that cover `0..<count`, in parallel when `work` is large.
    static func forEach(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        forEach(count, work: work) { _, range in body(range) }
    }

    /// The same, telling `body` which part it runs (0..<cores), for work that needs a scratch
    /// buffer of its own.
    static func forEach(_ count: Int, work: Int, _ body: (_ part: Int, Range<Int>) -> Void) {
        let chunks = min(cores, count, max(1, work / minimumWork))
        guard chunks > 1 else { return body(0, 0..<count) }
        withoutActuallyEscaping(body) { body in
            // The ranges are disjoint: each chunk writes only its own part of the buffers.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                body(chunk, (count * chunk / chunks)..<(count * (chunk + 1) / chunks))
            }
        }
    }
}
