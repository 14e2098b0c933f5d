import Foundation

/// The floats of a weights file after its header, in one allocation that a `NetworkWeights`
/// and the `Network` built from it share, so a loaded model lives in memory once.
/// Written only while it is being filled (reading, calibration in `RandomWeights`).
final class ParameterStore: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    /// Bytes mapped with mmap (0: allocated with malloc).
    private let mappedBytes: Int

    /// Uninitialized storage for `count` floats: the caller fills every one.
    init(uninitializedCount count: Int) {
        self.count = count
        let bytes = count * MemoryLayout<Float>.stride
        if bytes >= 1 << 24, let mapped = Self.prefaulted(bytes: bytes) {
            pointer = mapped.bindMemory(to: Float.self, capacity: count)
            mappedBytes = bytes
        } else {
            pointer = .allocate(capacity: max(count, 1))
            mappedBytes = 0
        }
    }

    /// Anonymous memory whose pages the kernel puts in at once (MAP_POPULATE), rather than
    /// one fault per 4 KiB page as the reader first touches it.
    private static func prefaulted(bytes: Int) -> UnsafeMutableRawPointer? {
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
        return address == MAP_FAILED ? nil : address
    }

    convenience init(_ floats: [Float]) {
        self.init(uninitializedCount: floats.count)
        floats.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    deinit {
        if mappedBytes > 0 { munmap(pointer, mappedBytes) } else { pointer.deallocate() }
    }

    var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}
