/// A float32 array with its shape: (C, H, W) for one image, (B, C, H, W) for a batch.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "a tensor's data must fill its shape")
        self.shape = shape
        self.data = data
    }
}
