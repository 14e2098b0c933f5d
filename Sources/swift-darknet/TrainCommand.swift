@_spi(CLI) import Darknet
import Glibc
import Synchronization

/// Set by Ctrl-C; the run saves and stops at its next iteration.
private let interrupted = Atomic<Bool>(false)

struct TrainCommand: Command {
    static let name = "train"
    static let abstract = "Trains a network from a folder of class folders or a .data file, saving checkpoints and the final weights."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file ([net] batch, subdivisions, learning_rate, max_batches, …)")]
    static let options = [
        OptionSpec.option("data", "DIR|FILE.data", "DIR/train/<class>/* and DIR/val/<class>/* images, or a Darknet .data (a classifier's labels=, a detector's box labels) (required)"),
        .option("out", "DIR", "the folder for <cfg>.backup, <cfg>_final.weights and <cfg>.names (required)"),
        .option("weights", "W", "start from these weights (a checkpoint resumes at its seen); default: Darknet's random initialisation"),
        .option("epochs", "N", "passes over the training images (default: until [net] max_batches)"),
        .option("seed", "S", "the seed of the shuffling, the augmentation and the initial weights (default 1)"),
        .option("checkpoint-every", "N", "save <cfg>.backup every N iterations, 0 for never (default \(defaultCheckpointEvery))"),
        .flag("no-augment", "train on the images as validation sees them, without [net]'s augmentation"),
    ] + DefinitionArguments.options

    static let defaultCheckpointEvery = 100

    let cfg: String
    let data: String
    let output: String
    let weights: String?
    let epochs: Int?
    let seed: UInt64
    let checkpointEvery: Int
    let augment: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        cfg = args.positionals[0]
        guard let data = args.string("data") else { throw UsageError("--data DIR|FILE.data is required") }
        guard let output = args.string("out") else { throw UsageError("--out DIR is required") }
        (self.data, self.output) = (data, output)
        weights = args.string("weights")
        epochs = try args.int("epochs")
        if let text = args.string("seed") {
            guard let seed = UInt64(text) else { throw UsageError("--seed \(text): expected a whole number in 0...\(UInt64.max)") }
            self.seed = seed
        } else {
            seed = 1
        }
        checkpointEvery = try args.int("checkpoint-every", in: 0...Int(Int32.max)) ?? Self.defaultCheckpointEvery
        augment = !args.flag("no-augment")
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let spec = try definition.load(cfg)
        // Read into memory, not mapped: training writes the parameters in place.
        let initial = try weights.map { try readWeights($0, for: spec, mapped: false) } ?? RandomWeights.initial(for: spec, seed: seed)
        let trainer = try Trainer(try Network(definition: spec, weights: initial, winograd: false))
        let (set, validation, validationImages, classes, classNames) = try sets(for: spec, truthsPerImage: trainer.truthsPerImage)

        let base = Self.baseName(cfg)
        var options = TrainingRun.Options(directory: output, baseName: base)
        options.epochs = epochs
        options.seed = seed
        options.checkpointEvery = checkpointEvery
        options.augment = augment
        // Checked before anything is written: a refused run leaves no folder behind.
        let run = try TrainingRun(trainer: trainer, set: set, validation: validation, options: options)

        try createDirectory(output)
        var wrote: [String] = []
        if let classNames {
            // The class index is the line: classify reads it beside the weights.
            let names = Folder.join(output, base + ".names")
            try TrainingRun.writeNames(classNames, to: names)
            wrote.append(names)
        }
        let start = trainer.seen / UInt64(run.imagesPerIteration)
        print("\(cfg): \(set.count) training images in \(classes) class\(classes == 1 ? "" : "es") (\(validationImages) for validation); "
              + "batch \(run.imagesPerIteration) in \(spec.training.subdivisions) subdivisions; "
              + (trainer.seen > 0 ? "resuming at iteration \(start) (seen \(trainer.seen))" : "from iteration 0")
              + (weights == nil ? " with Darknet's random initial weights" : ""))
        for path in wrote { print("wrote \(path)") }

        signal(SIGINT) { _ in
            // A second Ctrl-C stops without saving.
            if interrupted.exchange(true, ordering: .relaxed) { _exit(130) }
        }
        defer { signal(SIGINT, SIG_DFL) }
        let outcome = try run.run(isCancelled: { interrupted.load(ordering: .relaxed) }) { event in
            switch event {
            case .iteration(let p):
                print(String(printf: "iteration %d (epoch %.2f): loss %.4f, avg %.4f, rate %g, %.1f images/s, ETA ", p.iteration, p.epoch,
                             Double(p.loss), Double(p.averageLoss), Double(p.rate), p.imagesPerSecond) + duration(p.secondsLeft))
            case .epoch(let epoch, let validation):
                print("epoch \(epoch)" + (validation.map { ": validation \($0.name) " + String(printf: "%.4f", Double($0.value)) } ?? ""))
            case .checkpoint(let path):
                print("saved \(path)")
            case .skipped(let reason):
                printError("warning: left out of training: \(reason)")
            case .skippedInValidation(let reason):
                printError("warning: left out of validation: \(reason)")
            }
        }
        switch outcome {
        case .finished:
            return 0
        case .cancelled(let path):
            printError("interrupted: the weights so far (seen \(trainer.seen)) are saved in \(path); --weights \(path) resumes")
            return 130
        }
    }

    /// The training set, the validation and, for a classifier, its class names: a detector (a
    /// cfg with a [yolo] layer) reads a .data file's box labels and validates by mAP@0.5; a
    /// classifier reads class folders or a classifier .data and validates by top-1.
    private func sets(for spec: NetworkDefinition, truthsPerImage: Int) throws
        -> (set: any TrainingSet, validation: (any Validation)?, validationImages: Int, classes: Int, classNames: [String]?) {
        // Both kinds of set read RGB images: said here, before anything is written.
        guard spec.input.channels == 3 else {
            throw Diagnostic(at: .file(spec.path), "[net] channels=\(spec.input.channels), but training reads RGB images: expected channels=3")
        }
        let detector = spec.layers.contains { layer in
            if case .yolo = layer.spec { return true }
            if case .region = layer.spec { return true }
            return false
        }
        guard !detector else {
            guard !Folder.isFolder(data) else {
                throw Diagnostic(at: .file(data), "a detector trains from a .data file (train=, valid=, classes=, names=), not a folder")
            }
            let file = try DataFile(contentsOf: data)
            let train = try DetectionSet(data: file, for: spec)
            for warning in train.warnings { printError(warning.description) }
            let validation = try file.filePath("valid").map { _ in try DetectionSet(data: file, validation: true, for: spec) }
            return (train, validation.map(MeanAveragePrecision.init), validation?.count ?? 0, train.classes, nil)
        }
        let sets = try ClassifierData(contentsOf: data)
        try sets.train.check(truthsPerImage: truthsPerImage)
        try sets.validation?.check(truthsPerImage: truthsPerImage)
        let batch = max(spec.batch / spec.training.subdivisions, 1)
        return (sets.train, sets.validation.map { TopOneAccuracy(set: $0, batch: batch) }, sets.validation?.count ?? 0,
                sets.classNames.count, sets.classNames)
    }

    /// The cfg's file name without folder and extension, as Darknet's `basecfg`.
    static func baseName(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }
}

/// Seconds as h:mm:ss.
private func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let total = Int(seconds.rounded())
    return String(printf: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
}
