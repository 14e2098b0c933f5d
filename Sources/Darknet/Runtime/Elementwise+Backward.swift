import Glibc

extension Softmax: StatelessTraining {
    func trainer() throws -> any LayerTrainer { StatelessTrainer(self) }

    /// `forward_softmax_layer` with a truth: truth − output, the cross-entropy's gradient at the
    /// softmax's input (none with `noloss`).
    func loss(_ pass: TrainingPass) {
        guard !noLoss else { return }
        for i in 0..<(pass.batch * output.count) { pass.delta[i] = pass.truth[i] - pass.output[i] }
    }

    var truthFloats: Int? { noLoss ? nil : output.count }

    /// `softmax_x_ent_cpu`'s error summed: −log p wherever the truth is not 0.
    func cost(_ pass: TrainingPass) -> Float? {
        guard !noLoss else { return nil }
        var sum: Float = 0
        for i in 0..<(pass.batch * output.count) where pass.truth[i] != 0 { sum += -logf(pass.output[i]) }
        return sum
    }

    /// `backward_softmax_layer` passes the delta down as it is.
    func backward(_ pass: TrainingPass) { addDelta(pass, times: 1) }
}

extension Cost: StatelessTraining {
    func trainer() throws -> any LayerTrainer {
        guard type == "sse" else { throw TrainingUnsupported(reason: "[cost] type=\(type) has no backward pass yet (only sse)") }
        return StatelessTrainer(self)
    }

    /// Type sse: truth − input. (Darknet's output in training is the squared error, which
    /// nothing reads; the output here stays the input.)
    func loss(_ pass: TrainingPass) {
        for i in 0..<(pass.batch * output.count) { pass.delta[i] = pass.truth[i] - pass.input[i] }
    }

    var truthFloats: Int? { output.count }

    /// `l2_cpu`'s error summed: the squared deltas.
    func cost(_ pass: TrainingPass) -> Float? { squaredSum(pass.delta, pass.batch * output.count) }

    /// Times `scale`: after a softmax, which also adds truth − output, the softmax's input gets
    /// twice it — Darknet's doubling, kept.
    func backward(_ pass: TrainingPass) { addDelta(pass, times: scale) }
}

/// Σ x², Darknet's `pow(mag_array(x, n), 2)`.
func squaredSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var sum: Float = 0
    for i in 0..<n { sum += x[i] * x[i] }
    return sum
}

extension LayerPlan {
    /// Adds `factor`·delta to the delta of the layer below (a kind whose input and output have
    /// the same size and positions).
    func addDelta(_ pass: TrainingPass, times factor: Float) {
        guard let inputDelta = pass.inputDelta else { return }
        for i in 0..<pass.batch * pass.outputCount { inputDelta[i] += factor * pass.delta[i] }
    }
}

extension Dropout {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}

extension BatchNormPlan {
    /// Darknet's own CPU training of a standalone batch-norm dereferences arrays it never
    /// allocates (`x`, `x_norm`) and gives the layer no update: there is no behaviour to follow.
    func trainer() throws -> any LayerTrainer {
        throw TrainingUnsupported(reason: "[batchnorm] has no backward pass: Darknet's CPU code cannot train a standalone batch-norm (it never allocates x and x_norm)")
    }
}
