/// The floats of a weights file after its header, in one allocation that a `NetworkWeights`
/// and the `Network` built from it share, so a loaded model lives in memory once.
/// Written only while it is being filled (reading, calibration in `RandomWeights`).
final class ParameterStore: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Uninitialized storage for `count` floats: the caller fills every one.
    init(uninitializedCount count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
    }

    convenience init(_ floats: [Float]) {
        self.init(uninitializedCount: floats.count)
        floats.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    deinit { pointer.deallocate() }

    var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}
