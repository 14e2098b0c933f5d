@testable import Darknet
import Glibc
import XCTest

/// The training loop on a tiny in-memory set: it learns, it resumes to the same weights, it
/// saves when cancelled, and its losses are Darknet's costs.
final class TrainingRunTests: XCTestCase {
    /// 1×4×4 images of two classes: horizontal stripes (class 0) or vertical ones (class 1),
    /// with noise; with augmentation, a random left-right flip drawn from the run's random.
    struct StripeSet: TrainingSet {
        let count: Int
        var unreadable: Set<Int> = []

        func image(_ index: Int) -> (pixels: [Float], label: Int) {
            var random = TrainingRandom(seed: UInt64(index) &* 7919 &+ 1)
            let label = index % 2
            let pixels = (0..<16).map { i in ((label == 0 ? i / 4 : i % 4) % 2 == 0 ? 0.8 : 0.2) + random.uniform(-0.15, 0.15) }
            return (pixels, label)
        }

        func batch(_ indices: [Int], input: Shape, truthsPerImage: Int, augmentation: Augmentation?,
                   random: inout TrainingRandom) throws -> TrainingBatch {
            var (data, truth, skipped): ([Float], [Float], [String]) = ([], [], [])
            for index in indices {
                if unreadable.contains(index) {
                    skipped.append("image \(index): does not decode")
                    continue
                }
                var (pixels, label) = image(index)
                if augmentation != nil, random.next() & 1 == 1 {
                    pixels = (0..<16).map { pixels[($0 / 4) * 4 + 3 - $0 % 4] }
                }
                data += pixels
                truth += (0..<truthsPerImage).map { $0 == label ? 1 : 0 }
            }
            let n = data.count / 16
            return TrainingBatch(input: Tensor(shape: [n, 1, 4, 4], data: data), truth: Tensor(shape: [n, truthsPerImage], data: truth), skipped: skipped)
        }
    }

    static let body = "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
        + "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n[avgpool]\n[softmax]\n"

    func trainer(net: String = "batch=4\nsubdivisions=2\nlearning_rate=0.1\nmomentum=0\n", body: String = body,
                 weights: NetworkWeights? = nil) throws -> Trainer {
        let text = "[net]\nwidth=4\nheight=4\nchannels=1\n" + net + body
        let definition = try NetworkDefinition(cfg: CfgFile(text: text, path: "stripes.cfg"), options: DefinitionOptions(dialect: .darknet))
        let network = try Network(definition: definition, weights: try weights ?? RandomWeights.initial(for: definition, seed: 3), winograd: false)
        return try Trainer(network)
    }

    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func options(_ directory: String, epochs: Int, every: Int = 100) -> TrainingRun.Options {
        var options = TrainingRun.Options(directory: directory, baseName: "stripes")
        options.epochs = epochs
        options.seed = 11
        options.checkpointEvery = every
        return options
    }

    func testTheLossFallsAndTheSetIsLearned() throws {
        let set = StripeSet(count: 16)
        let trainer = try trainer(net: "batch=4\nsubdivisions=2\nlearning_rate=0.1\nmomentum=0.9\n")
        let validation = TopOneAccuracy(set: set, batch: 5)
        let before = try validation.evaluate(trainer.network).value
        var losses: [Float] = [], figures: [Float] = []
        let run = try TrainingRun(trainer: trainer, set: set, validation: validation, options: options(try directory(), epochs: 60))
        let outcome = try run.run(report: { event in
            switch event {
            case .iteration(let progress): losses.append(progress.loss)
            case .epoch(_, let validation): figures.append(validation!.value)
            case .checkpoint, .skipped, .skippedInValidation: break
            }
        })
        XCTAssertEqual(outcome, TrainingRun.Outcome.finished(run.finalPath))
        XCTAssertEqual(losses.count, 60 * 16 / 4)
        XCTAssertEqual(figures.count, 60)
        XCTAssertEqual(trainer.seen, 60 * 16)
        let (first, last) = (losses.prefix(4).reduce(0, +) / 4, losses.suffix(4).reduce(0, +) / 4)
        XCTAssertLessThan(last, first / 4, "losses \(losses)")
        XCTAssertLessThanOrEqual(before, 0.75)
        XCTAssertEqual(figures.last, 1)
        let saved = try NetworkWeights(contentsOf: run.finalPath, for: trainer.network.definition)
        XCTAssertEqual(saved.header.seen, 960)
        XCTAssertEqual(saved.floats, trainer.weights.floats)
    }

    /// Darknet's `train_network` value: the softmax's Σ −log p of the true class over the batch,
    /// per image (no batch-norm here, so the inference forward pass gives the same p).
    func testStepReturnsDarknetsLossPerImage() throws {
        let trainer = try trainer(net: "batch=4\n", body: "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=leaky\n[avgpool]\n[softmax]\n")
        var random = TrainingRandom(seed: 1)
        let batch = try StripeSet(count: 4).batch([0, 1, 2, 3], input: trainer.network.definition.input, truthsPerImage: 2, augmentation: nil, random: &random)
        let context = InferenceContext(trainer.network, batch: 4)
        batch.input.data.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) }
        let p = context.tensor(of: 2).data
        let expected = (0..<4).map { -log(Double(p[2 * $0 + $0 % 2])) }.reduce(0, +) / 4
        XCTAssertEqual(Double(try trainer.step(input: batch.input, truth: batch.truth)), expected, accuracy: 1e-5)
    }

    /// Without batch-norm, a batch in two subdivisions accumulates the gradient of the whole
    /// batch before its one update: the same weights as one pass over it.
    func testSubdivisionsAccumulateBeforeOneUpdate() throws {
        let body = "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=leaky\n[avgpool]\n[softmax]\n"
        var results: [[Float]] = []
        for subdivisions in [1, 2, 4] {
            let trainer = try trainer(net: "batch=4\nsubdivisions=\(subdivisions)\nlearning_rate=0.5\n", body: body)
            var options = options(try directory(), epochs: 2)
            options.augment = false // each subdivision draws its own flips
            let run = try TrainingRun(trainer: trainer, set: StripeSet(count: 8), validation: nil, options: options)
            _ = try run.run()
            XCTAssertEqual(trainer.seen, 16)
            results.append(trainer.weights.floats)
        }
        let initial = try trainer(body: body).weights.floats
        XCTAssertGreaterThan(zip(results[0], initial).map { abs($0 - $1) }.max()!, 0.01)
        for other in results.dropFirst() {
            XCTAssertLessThan(zip(results[0], other).map { abs($0 - $1) }.max()!, 1e-5)
        }
    }

    /// Stopped at a checkpoint and resumed from its file, the run ends with the weights of a
    /// run never stopped (SGD without momentum: Darknet's weights carry no momentum).
    func testResumedRunEndsWithTheSameWeights() throws {
        let set = StripeSet(count: 10)
        let whole = try trainer()
        _ = try TrainingRun(trainer: whole, set: set, validation: nil, options: options(try directory(), epochs: 4)).run()

        let folder = try directory()
        let first = try trainer()
        var calls = 0
        let stopped = try TrainingRun(trainer: first, set: set, validation: nil, options: options(folder, epochs: 4))
        let outcome = try stopped.run(isCancelled: { calls += 1; return calls > 4 })
        XCTAssertEqual(outcome, .cancelled(stopped.checkpointPath))
        let checkpoint = try NetworkWeights(contentsOf: stopped.checkpointPath, for: first.network.definition)
        XCTAssertEqual(checkpoint.header.seen, 16)
        let stoppedFloats = checkpoint.floats // the resumed run trains these in place

        let resumed = try trainer(weights: checkpoint)
        XCTAssertEqual(resumed.seen, 16)
        let rest = try TrainingRun(trainer: resumed, set: set, validation: nil, options: options(folder, epochs: 4))
        var iterations: [Int] = []
        _ = try rest.run(report: { if case .iteration(let p) = $0 { iterations.append(p.iteration) } })
        XCTAssertEqual(iterations, Array(5...10))
        XCTAssertEqual(resumed.seen, 40)
        XCTAssertEqual(resumed.weights.floats, whole.weights.floats)
        XCTAssertNotEqual(stoppedFloats, whole.weights.floats)
    }

    /// Checkpoints every N iterations replace the file whole (temporary file and rename): the
    /// folder holds the two files and nothing else.
    func testCheckpointsAreWrittenEveryNIterationsByRename() throws {
        let folder = try directory()
        let trainer = try trainer()
        var saved: [String] = []
        let run = try TrainingRun(trainer: trainer, set: StripeSet(count: 8), validation: nil, options: options(folder, epochs: 3, every: 2))
        _ = try run.run(report: { if case .checkpoint(let path) = $0 { saved.append(path) } })
        XCTAssertEqual(saved, [run.checkpointPath, run.checkpointPath, run.finalPath])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["stripes.backup", "stripes_final.weights"])
        XCTAssertEqual(try NetworkWeights(contentsOf: run.checkpointPath, for: trainer.network.definition).header.seen, 16)
    }

    /// Batches are whole: 6 images in batches of 4 take 2 iterations for one epoch.
    func testTheLastBatchIsWhole() throws {
        let trainer = try trainer()
        var (iterations, epochs) = (0, 0)
        _ = try TrainingRun(trainer: trainer, set: StripeSet(count: 6), validation: nil, options: options(try directory(), epochs: 1)).run(report: {
            switch $0 {
            case .iteration(let progress): iterations += 1; XCTAssertGreaterThanOrEqual(progress.secondsLeft, 0)
            case .epoch: epochs += 1
            case .checkpoint, .skipped, .skippedInValidation: break
            }
        })
        XCTAssertEqual([iterations, epochs], [2, 1])
        XCTAssertEqual(trainer.seen, 8)
    }

    /// Each epoch of the stream is a permutation of the set, a different one per epoch and per
    /// seed, and any position's image is the same however the stream is read.
    func testTheImageStreamIsSeededPermutations() {
        var a = Shuffle(count: 10, seed: 1), b = Shuffle(count: 10, seed: 2)
        let first = (0..<10).map { a.index(at: UInt64($0)) }, second = (10..<20).map { a.index(at: UInt64($0)) }
        XCTAssertEqual(first.sorted(), Array(0..<10))
        XCTAssertEqual(second.sorted(), Array(0..<10))
        XCTAssertNotEqual(first, second)
        XCTAssertNotEqual((0..<10).map { b.index(at: UInt64($0)) }, first)
        var fresh = Shuffle(count: 10, seed: 1)
        XCTAssertEqual(fresh.index(at: 13), second[3])
        XCTAssertEqual(fresh.index(at: 4), first[4])
    }

    func testMaxBatchesStopsTheRun() throws {
        let trainer = try trainer(net: "batch=4\nmax_batches=3\n")
        var options = options(try directory(), epochs: 0)
        options.epochs = nil
        _ = try TrainingRun(trainer: trainer, set: StripeSet(count: 100), validation: nil, options: options).run()
        XCTAssertEqual(trainer.seen, 12)
    }

    func testSkippedImagesAreReportedAndAnEmptyBatchIsAnError() throws {
        var skipped: [String] = []
        let trainer = try trainer()
        _ = try TrainingRun(trainer: trainer, set: StripeSet(count: 4, unreadable: [2]), validation: nil,
                            options: options(try directory(), epochs: 1)).run(report: { if case .skipped(let line) = $0 { skipped.append(line) } })
        XCTAssertEqual(skipped, ["image 2: does not decode"])
        XCTAssertEqual(trainer.seen, 4) // the image left out still counts, as in Darknet's seen

        // The validation's figure is over the images that load, and names the others.
        var events: [String] = []
        let validation = TopOneAccuracy(set: StripeSet(count: 6, unreadable: [1, 4]), batch: 4)
        XCTAssertEqual(try validation.evaluate(trainer.network).skipped, ["image 1: does not decode", "image 4: does not decode"])
        _ = try TrainingRun(trainer: try self.trainer(), set: StripeSet(count: 4), validation: validation,
                            options: options(try directory(), epochs: 1)).run(report: { event in
            if case .skippedInValidation(let line) = event { events.append("validation: " + line) }
            if case .epoch(let epoch, _) = event { events.append("epoch \(epoch)") }
        })
        XCTAssertEqual(events, ["validation: image 1: does not decode", "validation: image 4: does not decode", "epoch 1"])

        let none = try TrainingRun(trainer: try self.trainer(), set: StripeSet(count: 4, unreadable: [0, 1, 2, 3]), validation: nil,
                                   options: options(try directory(), epochs: 1))
        XCTAssertThrowsError(try none.run()) {
            XCTAssert("\($0)".hasPrefix("stripes.cfg: error: none of the 2 images of the batch at position 0 loaded: image "), "\($0)")
        }
    }

    func testBadRunsAreErrors() throws {
        XCTAssertThrowsError(try TrainingRun(trainer: try trainer(), set: StripeSet(count: 0), validation: nil, options: options("", epochs: 1))) {
            XCTAssertEqual("\($0)", "stripes.cfg: error: the training set has no images")
        }
        var noEnd = options("", epochs: 1)
        noEnd.epochs = nil
        XCTAssertThrowsError(try TrainingRun(trainer: try trainer(), set: StripeSet(count: 4), validation: nil, options: noEnd)) {
            XCTAssert("\($0)".contains("nothing says when to stop"), "\($0)")
        }
        let unwritable = try TrainingRun(trainer: try trainer(), set: StripeSet(count: 4), validation: nil, options: options("/nonexistent/out", epochs: 1))
        XCTAssertThrowsError(try unwritable.run()) { XCTAssert("\($0)".hasPrefix("/nonexistent/out/stripes_final.weights"), "\($0)") }
        XCTAssertThrowsError(try trainer(net: "batch=2\nsubdivisions=4\n")) {
            XCTAssert("\($0)".hasPrefix("stripes.cfg:"), "\($0)")
            XCTAssert("\($0)".contains("subdivisions=4: more than batch=2"), "\($0)")
        }
    }

    /// Darknet's initialisation: He-scaled normal kernels, zero biases, γ 1.
    func testInitialWeightsFollowDarknet() throws {
        let definition = try trainer().network.definition
        let weights = try RandomWeights.initial(for: definition, seed: 9)
        let arrays = weights.arrays(of: 0) // biases, scales, mean, variance, weights
        XCTAssertEqual(arrays[0], [0, 0, 0, 0])
        XCTAssertEqual(arrays[1], [1, 1, 1, 1])
        let kernel = arrays[4]
        XCTAssertEqual(kernel.count, 36)
        let std = (kernel.map { $0 * $0 }.reduce(0, +) / Float(kernel.count)).squareRoot()
        XCTAssertEqual(std, (2 / 9 as Float).squareRoot(), accuracy: 0.2)
    }
}
