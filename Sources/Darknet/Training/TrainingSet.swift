/// The images and truths a training run learns from, one batch at a time: a folder of class
/// folders, or Darknet's `.data` lists (class labels, or YOLO boxes beside each image).
public protocol TrainingSet: Sendable {
    /// Images in the set: one epoch.
    var count: Int { get }

    /// Images `indices` as one batch for a network that reads `input`, each image's truth in
    /// `truthsPerImage` floats laid out as Darknet lays it out for the network's last layer.
    /// With `augmentation`, Darknet's training augmentation drawing from `random`; without, the
    /// preprocessing of validation (and of `classify` and `detect`). An image that does not
    /// load is left out of the batch and named in its `skipped`.
    func batch(_ indices: [Int], input: Shape, truthsPerImage: Int, augmentation: Augmentation?,
               random: inout TrainingRandom) throws -> TrainingBatch
}

/// Images (B, C, H, W) and their truths (B, truthsPerImage), B ≤ the indices asked for.
public struct TrainingBatch: Sendable {
    public var input: Tensor
    public var truth: Tensor
    /// Why each left-out image was left out, one line each, naming the file.
    public var skipped: [String]

    public init(input: Tensor, truth: Tensor, skipped: [String]) {
        self.input = input
        self.truth = truth
        self.skipped = skipped
    }
}

/// The seeded random source of a training run (shuffling, augmentation): the same seed gives
/// the same run on every platform.
public struct TrainingRandom: Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(state: seed) }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float { generator.uniform(low, high) }

    /// Uniform in 0..<count.
    public mutating func index(below count: Int) -> Int { Int(generator.next() % UInt64(count)) }

    /// Darknet's `rand_scale`: a factor between 1 and s (either side of 1, as `rand_uniform`
    /// orders its ends) or its inverse, each half the time.
    public mutating func scale(_ s: Float) -> Float {
        let factor = uniform(min(s, 1), max(s, 1))
        return next() & 1 == 0 ? factor : 1 / factor
    }
}
