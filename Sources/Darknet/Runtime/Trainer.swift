/// One training iteration as Darknet's `train_network_datum` runs it on the CPU, over a batch
/// of any size (one call is one forward, backward and update: Darknet's batch with one
/// subdivision). The network's parameters change in place; `weights` saves them with `seen`.
///
/// Momentum and Adam's moments start at zero, as after Darknet's `load_network`, and carry
/// over from one `step` to the next.
public final class Trainer {
    public let network: Network
    public private(set) var seen: UInt64
    /// Updates made so far (Darknet's `net.t`, Adam's bias correction).
    private var updates = 0
    private let trainers: [any LayerTrainer]

    /// - Parameter network: built with `winograd: false` (training multiplies by im2col + GEMM).
    public init(_ network: Network) throws {
        self.network = network
        seen = network.header.seen
        let definition = network.definition
        guard definition.dialect == .darknet else {
            throw Diagnostic(at: .file(definition.path), "training follows Darknet's own formulas (batch-norm, losses); this cfg reads as AlexeyAB's (\(definition.dialectReason)): pass --dialect darknet to train it as Darknet does")
        }
        trainers = try zip(definition.layers, network.plans).map { layer, plan in
            do {
                return try plan.trainer()
            } catch let unsupported as TrainingUnsupported {
                throw Diagnostic(at: .line(file: definition.path, line: layer.line), "layer \(layer.index): \(unsupported.reason)")
            }
        }
        // Darknet lays the truth out for the last layer and lets every loss read it with its own
        // size: where the sizes differ it reads another image's truth, or past the end.
        let truths = truthsPerImage
        for (layer, trainer) in zip(definition.layers, trainers) {
            if let reads = trainer.truthFloats, reads != truths {
                throw Diagnostic(at: .line(file: definition.path, line: layer.line),
                                 "layer \(layer.index): [\(layer.typeName)]'s loss reads \(reads) truth floats per image, but the truth is laid out for the last layer's \(truths)")
            }
        }
    }

    /// The weights as trained so far, with `seen` in the header.
    public var weights: NetworkWeights {
        var header = network.header
        header.seen = seen
        return NetworkWeights(header: header, storage: network.parameters, definition: network.definition)
    }

    /// Whether a layer computes a loss from the truth ([softmax], [cost], [yolo]): without one,
    /// every delta is zero and training changes nothing but batch-norm's rolling statistics.
    public var hasLoss: Bool { trainers.contains { $0.truthFloats != nil } }

    /// The truth floats per image Darknet's `net.truths` holds: the last yolo layer's boxes,
    /// else the last layer's outputs.
    public var truthsPerImage: Int {
        let layers = network.definition.layers
        if case .yolo(let yolo) = layers.last!.spec { return yolo.maxBoxes * 5 }
        return layers.last!.output.count
    }

    /// Runs one step on `input` (B, C, H, W) with `truth` (B, truths): `seen += B`, forward in
    /// training mode, backward, update at the rate for `seen / B`. Returns the loss per image
    /// (Darknet's `train_network`: the network's cost over B).
    @discardableResult
    public func step(input: Tensor, truth: Tensor) throws -> Float {
        let cost = try accumulate(input: input, truth: truth)
        let batch = input.shape[0]
        update(batch: batch)
        return cost / Float(batch)
    }

    /// One of Darknet's subdivisions: `seen += B`, forward in training mode and backward over
    /// `input` (B, C, H, W), adding to the gradients without updating the parameters. Returns
    /// the batch's cost as Darknet's `calc_network_cost` gives it: the mean over the layers
    /// with a loss of each one's cost summed over the B images. `counting` (B if nil) is what
    /// `seen` grows by: a run counts the images it asked for, those left out included, as
    /// Darknet counts its batch.
    @discardableResult
    public func accumulate(input: Tensor, truth: Tensor, counting: Int? = nil) throws -> Float {
        let batch = try network.checkInput(input)
        guard input.shape.count == 4 else {
            throw Diagnostic(at: .file(network.definition.path), "training takes a batch (B, C, H, W); the input has shape \(input.shape)")
        }
        guard truth.data.count == batch * truthsPerImage else {
            throw Diagnostic(at: .file(network.definition.path), "the truth has shape \(truth.shape); this network takes (\(batch), \(truthsPerImage))")
        }
        try checkTruth(truth, batch: batch)
        let counted = counting ?? batch
        guard seen <= UInt64(Int.max) - UInt64(counted) else {
            throw Diagnostic(at: .file(network.definition.path), "the weights header's seen, \(seen), leaves no room for another batch of \(counted)")
        }
        seen += UInt64(counted)
        return propagate(input: input, truth: truth, batch: batch, backward: true)
    }

    /// Darknet's `update_network` after the subdivisions of a batch of `batch` images: the rate
    /// for `seen / batch`, the accumulated gradients scaled by 1 / `batch`, then cleared (or
    /// kept times momentum, as Darknet's SGD does).
    public func update(batch: Int) {
        updates += 1
        let options = network.definition.training
        let step = UpdateStep(rate: currentRate(batch: batch), momentum: options.momentum,
                              decay: options.decay, batch: batch,
                              adam: options.adam ? (options.b1, options.b2, options.eps, updates) : nil)
        for trainer in trainers { trainer.update(step) }
    }

    /// The learning rate Darknet's `get_current_rate` gives now, for batches of `batch` images.
    public func currentRate(batch: Int) -> Float {
        network.definition.training.rate(batchNumber: Int(seen / UInt64(max(batch, 1))))
    }

    /// The truth a loss indexes by: finite floats, and for [yolo] each box, up to the first with
    /// x = 0 (Darknet's end of the list), inside the image with a size and a class the layers
    /// have. Darknet trusts them, and writes wherever a box points.
    private func checkTruth(_ truth: Tensor, batch: Int) throws {
        func refuse(_ image: Int, _ what: String) -> Diagnostic {
            Diagnostic(at: .file(network.definition.path), "the truth of image \(image): \(what)")
        }
        if let bad = truth.data.firstIndex(where: { !$0.isFinite }) {
            throw refuse(bad / truthsPerImage, "float \(bad % truthsPerImage) is \(truth.data[bad])")
        }
        let classes = network.definition.layers.compactMap { layer -> Int? in
            if case .yolo(let yolo) = layer.spec { yolo.classes } else { nil }
        }.min()
        guard let classes else { return }
        for image in 0..<batch {
            let boxes = truth.data[(image * truthsPerImage)..<((image + 1) * truthsPerImage)]
            for (number, start) in stride(from: boxes.startIndex, to: boxes.endIndex - 4, by: 5).enumerated() {
                let (x, y, w, h, c) = (boxes[start], boxes[start + 1], boxes[start + 2], boxes[start + 3], boxes[start + 4])
                if x == 0 { break }
                guard (0..<1).contains(x), (0..<1).contains(y), w > 0, h > 0, w <= 1, h <= 1 else {
                    throw refuse(image, "box \(number) (x \(x), y \(y), w \(w), h \(h)) is not inside the image: expected x, y in [0, 1) and w, h in (0, 1]")
                }
                guard c >= 0, c < Float(classes), c.rounded() == c else {
                    throw refuse(image, "box \(number) has class \(c); expected a whole number in 0...\(classes - 1)")
                }
            }
        }
    }

    /// Darknet's `forward_network` in training mode and, with `backward`, `backward_network`:
    /// the parameters' gradients accumulate in the trainers. Returns the network's cost
    /// (`calc_network_cost`, 0 without a loss); `inspect` (for tests) sees each layer's output
    /// before its buffer goes.
    @discardableResult
    func propagate(input: Tensor, truth: Tensor, batch: Int, backward: Bool,
                   inspect: (([UnsafeBufferPointer<Float>]) -> Void)? = nil) -> Float {
        let layers = network.definition.layers
        let outputs = layers.map { TrainingBuffer($0.output.count * batch) }
        let deltas = layers.map { TrainingBuffer($0.output.count * batch) }
        var cost: Float = 0
        input.data.withUnsafeBufferPointer { inputs in
            truth.data.withUnsafeBufferPointer { truths in
                func pass(_ i: Int) -> TrainingPass {
                    TrainingPass(batch: batch, input: i == 0 ? inputs.baseAddress! : UnsafePointer(outputs[i - 1].pointer),
                                 output: outputs[i].pointer, delta: deltas[i].pointer, inputDelta: i == 0 ? nil : deltas[i - 1].pointer,
                                 outputCount: layers[i].output.count,
                                 truth: truths.baseAddress!, truths: truthsPerImage, networkInput: network.definition.input,
                                 outputs: { outputs[$0].pointer }, deltas: { deltas[$0].pointer })
                }
                for i in layers.indices { trainers[i].forward(pass(i)) }
                let costs = layers.indices.compactMap { trainers[$0].cost(pass($0)) }
                cost = costs.isEmpty ? 0 : costs.reduce(0, +) / Float(costs.count)
                if backward {
                    for i in layers.indices.reversed() {
                        if layers[i].stopsBackward { break }
                        trainers[i].backward(pass(i))
                    }
                }
            }
        }
        inspect?(outputs.map { UnsafeBufferPointer(start: $0.pointer, count: $0.count) })
        return cost
    }

    /// The trainer of layer `index` (for tests).
    func trainer(of index: Int) -> any LayerTrainer { trainers[index] }
}
