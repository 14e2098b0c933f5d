extension ConnectedPlan {
    func trainer() throws -> any LayerTrainer {
        return ConnectedTrainer(self)
    }
}

/// `forward_connected_layer` in training (batch-norm on the batch, channels = outputs) and
/// `backward_connected_layer`.
final class ConnectedTrainer: LayerTrainer {
    let spec: Connected
    let weights: TrainedArray
    let biases: TrainedArray
    let norm: BatchNormTraining?
    /// The values before the activation, kept for the activations whose gradient needs them.
    private var preActivation = TrainingBuffer(0)

    init(_ plan: ConnectedPlan) {
        spec = plan.spec
        let parameters = plan.parameters
        weights = TrainedArray(parameters[.weights]!, count: spec.inputs * spec.outputs, decays: true)
        biases = TrainedArray(parameters.biases, count: spec.outputs, decays: false)
        norm = spec.batchNormalize
            ? BatchNormTraining(channels: spec.outputs, spatial: 1, scales: parameters[.normScale]!,
                                rollingMean: parameters[.rollingMean]!, rollingVariance: parameters[.rollingVariance]!) : nil
    }

    func forward(_ pass: TrainingPass) {
        let (n, k) = (spec.outputs, spec.inputs)
        Kernels.gemm(m: pass.batch, n: n, k: k, a: pass.input, b: weights.values, transposeB: true, c: pass.output)
        if let norm {
            norm.forward(pass.output, batch: pass.batch, biases: biases.values)
        } else {
            for i in 0..<(pass.batch * n) { pass.output[i] += biases.values[i % n] }
        }
        keepPreActivation(pass.output, count: pass.batch * n)
        spec.activation.apply(pass.output, count: pass.batch * n)
    }

    func backward(_ pass: TrainingPass) {
        let (n, k) = (spec.outputs, spec.inputs)
        spec.activation.multiplyGradient(pass.output, input: preActivation.pointer, into: pass.delta, count: pass.batch * n)
        if let norm {
            norm.backward(pass.delta, batch: pass.batch, biasUpdates: biases.updates.pointer)
        } else {
            accumulateBiasGradient(biases.updates.pointer, pass.delta, batch: pass.batch, channels: n, spatial: 1)
        }
        // Weights (outputs × inputs) += deltaᵀ · input; the input's delta += delta · weights.
        accumulateProduct(m: n, n: k, k: pass.batch, a: pass.delta, transposeA: true, b: pass.input, c: weights.updates.pointer)
        if let inputDelta = pass.inputDelta {
            accumulateProduct(m: pass.batch, n: k, k: n, a: pass.delta, b: weights.values, c: inputDelta)
        }
    }

    private func keepPreActivation(_ values: UnsafePointer<Float>, count: Int) {
        guard spec.activation.needsInput else { return }
        if preActivation.count != count { preActivation = TrainingBuffer(count) }
        preActivation.pointer.update(from: values, count: count)
    }

    func update(_ network: UpdateStep) {
        let step = network.scaled(by: spec.learningRateScale)
        biases.update(step)
        norm?.scales.update(step)
        weights.update(step)
    }
}
