/// The floats of a weights file after its header, in one allocation that a `NetworkWeights`
/// and the `Network` built from it share, so a loaded model lives in memory once.
/// Written only while it is being filled (reading, calibration in `RandomWeights`); a mapped
/// file's floats are never written.
final class ParameterStore: @unchecked Sendable {
    private let memory: FloatMemory

    /// Uninitialized storage for `count` floats: the caller fills every one.
    init(uninitializedCount count: Int) {
        memory = FloatMemory(count: count, populate: true)
    }

    /// The floats of a file mapped in place (see `NetworkWeights(contentsOf:for:allowPrefix:loading:)`).
    init(memory: FloatMemory) {
        self.memory = memory
    }

    convenience init(_ floats: [Float]) {
        self.init(uninitializedCount: floats.count)
        floats.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    var pointer: UnsafeMutablePointer<Float> { memory.floats }
    var count: Int { memory.count }
    /// Whether the floats are a weights file's pages, mapped (see `FloatMemory.isMapped`).
    var isMapped: Bool { memory.isMapped }
    var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}
