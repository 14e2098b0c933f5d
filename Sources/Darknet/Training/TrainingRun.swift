/// A training run as Darknet's `train_classifier` and `train_detector` loop: batches of
/// `[net] batch` images drawn in a seeded shuffled order, each split into `subdivisions`
/// forward and backward passes of `batch / subdivisions` images and one update; a validation
/// figure per epoch; the weights saved every `checkpointEvery` iterations and at the end.
///
/// Everything follows from the weights' `seen`: the image stream is epoch after epoch of seeded
/// permutations of the set, and `seen` is the position in it (an image that does not load
/// still counts), so a run resumed from a checkpoint draws the same images and augmentations
/// as one that was never stopped.
public final class TrainingRun {
    public struct Options: Sendable {
        /// Passes over the set; nil: until `[net] max_batches`.
        public var epochs: Int?
        public var seed: UInt64 = 1
        /// Iterations (updates) between checkpoints; 0 saves only at the end.
        public var checkpointEvery = 100
        /// Where checkpoints go: `<base>.backup` each time, `<base>_final.weights` at the end.
        public var directory: String
        public var baseName: String
        /// Darknet's training augmentation (the `[net]` keys); off: validation's preprocessing.
        public var augment = true

        public init(directory: String, baseName: String) {
            self.directory = directory
            self.baseName = baseName
        }
    }

    /// One iteration: Darknet's progress line.
    public struct Progress: Sendable {
        public var iteration: Int
        /// Epochs done, with the fraction of the current one.
        public var epoch: Double
        /// The loss per image of this iteration (Darknet's `train_network`).
        public var loss: Float
        /// Darknet's running average: the first loss, then 0.9 · average + 0.1 · loss.
        public var averageLoss: Float
        public var rate: Float
        public var imagesPerSecond: Double
        /// Seconds left at this speed.
        public var secondsLeft: Double
        public var images: Int
    }

    public enum Event: Sendable {
        case iteration(Progress)
        /// An epoch ended; the validation figure, if the run has a validation.
        case epoch(Int, validation: (name: String, value: Float)?)
        /// A checkpoint was written to the path.
        case checkpoint(String)
        /// An image left out of a batch, and why.
        case skipped(String)
        /// An image left out of the epoch's validation figure, and why.
        case skippedInValidation(String)
    }

    public enum Outcome: Sendable, Equatable {
        /// The run ended as planned; the final weights are at the path.
        case finished(String)
        /// Cancelled between iterations; the weights so far are at the path.
        case cancelled(String)
    }

    public let trainer: Trainer
    public let set: any TrainingSet
    public let validation: (any Validation)?
    public let options: Options
    /// Images per update (`batch / subdivisions · subdivisions`, as Darknet divides) and per pass.
    public let imagesPerIteration: Int
    public let imagesPerPass: Int

    public init(trainer: Trainer, set: any TrainingSet, validation: (any Validation)?, options: Options) throws {
        let definition = trainer.network.definition
        guard set.count > 0 else {
            throw Diagnostic(at: .file(definition.path), "the training set has no images")
        }
        guard trainer.hasLoss else {
            let last = definition.layers[definition.layers.count - 1]
            throw Diagnostic(at: .line(file: definition.path, line: last.line),
                             "no layer computes a loss, so training would learn nothing: the network ends in layer \(last.index) [\(last.typeName)]; "
                             + "expected [softmax] after a classifier's class outputs, or [yolo] heads for a detector")
        }
        let training = definition.training
        guard options.epochs != nil || training.maxBatches > 0 else {
            throw Diagnostic(at: .file(definition.path), "nothing says when to stop: give a number of epochs or [net] max_batches")
        }
        imagesPerPass = definition.batch / training.subdivisions
        imagesPerIteration = imagesPerPass * training.subdivisions
        (self.trainer, self.set, self.validation, self.options) = (trainer, set, validation, options)
    }

    /// The position in the image stream where the run stops: the epochs or max_batches,
    /// whichever comes first.
    public var endPosition: UInt64 {
        let maxBatches = trainer.network.definition.training.maxBatches
        let byEpochs = options.epochs.map { UInt64($0) * UInt64(set.count) } ?? .max
        let byBatches = maxBatches > 0 ? UInt64(maxBatches) * UInt64(imagesPerIteration) : .max
        return min(byEpochs, byBatches)
    }

    public var checkpointPath: String { Folder.join(options.directory, options.baseName + ".backup") }
    public var finalPath: String { Folder.join(options.directory, options.baseName + "_final.weights") }

    /// Trains until the end position or until `isCancelled` (asked between iterations) says
    /// stop, reporting each event as it happens.
    public func run(isCancelled: () -> Bool = { false }, report: (Event) -> Void = { _ in }) throws -> Outcome {
        let end = endPosition
        let clock = ContinuousClock()
        let start = clock.now
        let startSeen = trainer.seen
        var averageLoss: Float?
        var order = Shuffle(count: set.count, seed: options.seed)
        while trainer.seen < end {
            if isCancelled() {
                try save(checkpointPath)
                return .cancelled(checkpointPath)
            }
            let epochBefore = trainer.seen / UInt64(set.count)
            var cost: Float = 0
            var images = 0
            for _ in 0..<trainer.network.definition.training.subdivisions {
                // Whole batches, as Darknet: the last one may reach into the next epoch's order.
                let (position, count) = (trainer.seen, imagesPerPass)
                let indices = (0..<UInt64(count)).map { order.index(at: position + $0) }
                var random = TrainingRandom(seed: options.seed ^ (position &* 0x9E37_79B9_7F4A_7C15))
                let batch = try set.batch(indices, input: trainer.network.definition.input, truthsPerImage: trainer.truthsPerImage,
                                          augmentation: options.augment ? trainer.network.definition.training.augmentation : nil,
                                          random: &random)
                for line in batch.skipped { report(.skipped(line)) }
                guard batch.input.shape.first ?? 0 > 0 else {
                    throw Diagnostic(at: .file(trainer.network.definition.path),
                                     "none of the \(count) images of the batch at position \(position) loaded" + (batch.skipped.first.map { ": \($0)" } ?? ""))
                }
                cost += try trainer.accumulate(input: batch.input, truth: batch.truth, counting: count)
                images += batch.input.shape[0]
            }
            trainer.update(batch: imagesPerIteration)
            let loss = cost / Float(images)
            averageLoss = averageLoss.map { 0.9 * $0 + 0.1 * loss } ?? loss
            let iteration = Int(trainer.seen / UInt64(imagesPerIteration))
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let speed = Double(trainer.seen - startSeen) / max(seconds, 1e-9)
            report(.iteration(Progress(iteration: iteration, epoch: Double(trainer.seen) / Double(set.count), loss: loss,
                                       averageLoss: averageLoss!, rate: trainer.currentRate(batch: imagesPerIteration),
                                       imagesPerSecond: speed, secondsLeft: Double(end - min(end, trainer.seen)) / speed, images: images)))
            let epochAfter = trainer.seen / UInt64(set.count)
            if epochAfter > epochBefore {
                let figure = try validation.map { validation in
                    let result = try validation.evaluate(trainer.network)
                    for line in result.skipped { report(.skippedInValidation(line)) }
                    return (validation.name, result.value)
                }
                report(.epoch(Int(epochAfter), validation: figure))
            }
            if options.checkpointEvery > 0, iteration % options.checkpointEvery == 0, trainer.seen < end {
                try save(checkpointPath)
                report(.checkpoint(checkpointPath))
            }
        }
        try save(finalPath)
        report(.checkpoint(finalPath))
        return .finished(finalPath)
    }

    /// The class names, one per line in index order: the `.names` file training writes beside
    /// its weights, which `classify` reads.
    public static func writeNames(_ names: [String], to path: String) throws {
        let text = names.map { $0 + "\n" }.joined()
        try writeAtomically(to: path) { write in try Array(text.utf8).withUnsafeBytes { try write($0) } }
    }

    private func save(_ path: String) throws {
        try trainer.weights.write(to: path)
    }
}

/// The image stream of a run: epoch e is a seeded permutation of the set (Fisher–Yates drawing
/// from the seed and e), so any position's image is known without replaying the ones before.
struct Shuffle {
    let count: Int
    let seed: UInt64
    private var epoch: UInt64 = .max
    private var permutation: [Int] = []

    init(count: Int, seed: UInt64) {
        (self.count, self.seed) = (count, seed)
    }

    mutating func index(at position: UInt64) -> Int {
        let wanted = position / UInt64(count)
        if wanted != epoch {
            epoch = wanted
            var random = TrainingRandom(seed: seed &+ (wanted &+ 1) &* 0xD1B5_4A32_D192_ED03)
            permutation = Array(0..<count)
            for i in stride(from: count - 1, to: 0, by: -1) {
                permutation.swapAt(i, random.index(below: i + 1))
            }
        }
        return permutation[Int(position % UInt64(count))]
    }
}

/// A figure a run computes on held-out data after each epoch: a classifier's top-1 accuracy,
/// a detector's mAP@0.5.
public protocol Validation {
    /// The figure's name in the progress line ("top-1", "mAP@0.5").
    var name: String { get }
    /// The figure for the network as trained so far, in inference mode (batch-norm on its
    /// rolling statistics), over the images that load; a line for each that does not.
    func evaluate(_ network: Network) throws -> (value: Float, skipped: [String])
}

/// A detector's mAP@0.5 over a detection set (`DetectionSet.meanAveragePrecision`).
public struct MeanAveragePrecision: Validation {
    public let set: DetectionSet

    public init(set: DetectionSet) { self.set = set }

    public var name: String { "mAP@0.5" }

    public func evaluate(_ network: Network) throws -> (value: Float, skipped: [String]) {
        let (precision, skipped) = try set.meanAveragePrecision(of: network, iouThreshold: 0.5)
        return (Float(precision.mean), skipped)
    }
}

/// The fraction of a classification set whose highest output is its truth's class.
public struct TopOneAccuracy: Validation {
    public let set: any TrainingSet
    /// Images per forward pass.
    public let batch: Int

    public init(set: any TrainingSet, batch: Int = 16) {
        self.set = set
        self.batch = max(batch, 1)
    }

    public var name: String { "top-1" }

    public func evaluate(_ network: Network) throws -> (value: Float, skipped: [String]) {
        let classes = network.definition.layers.last!.output.count
        var random = TrainingRandom(seed: 0) // no augmentation: nothing is drawn
        var (right, total) = (0, 0)
        var skipped: [String] = []
        var context: InferenceContext?
        for start in stride(from: 0, to: set.count, by: batch) {
            let indices = Array(start..<min(start + batch, set.count))
            let images = try set.batch(indices, input: network.definition.input, truthsPerImage: classes, augmentation: nil, random: &random)
            skipped += images.skipped
            let count = images.input.shape.first ?? 0
            guard count > 0 else { continue }
            if context?.batch != count { context = InferenceContext(network, batch: count) }
            images.input.data.withUnsafeBufferPointer { _ = context!.forward($0.baseAddress!) }
            let output = context!.tensor(of: network.definition.layers.count - 1).data
            for image in 0..<count {
                let predicted = output[(image * classes)..<((image + 1) * classes)]
                let truth = images.truth.data[(image * classes)..<((image + 1) * classes)]
                if predicted.indices.max(by: { predicted[$0] < predicted[$1] }) == truth.indices.max(by: { truth[$0] < truth[$1] }) {
                    right += 1
                }
                total += 1
            }
        }
        return (total == 0 ? 0 : Float(right) / Float(total), skipped)
    }
}
