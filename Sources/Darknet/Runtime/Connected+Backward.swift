extension ConnectedPlan {
    func trainer() throws -> any LayerTrainer { ConnectedTrainer(self) }
}

/// `forward_connected_layer` in training (batch-norm on the batch, channels = outputs) and
/// `backward_connected_layer`.
final class ConnectedTrainer: LayerTrainer {
    let spec: Connected
    let product: TrainedProduct

    init(_ plan: ConnectedPlan) {
        spec = plan.spec
        let parameters = plan.parameters
        product = TrainedProduct(weights: parameters[.weights]!, count: spec.inputs * spec.outputs, biases: parameters.biases,
                                 channels: spec.outputs, spatial: 1,
                                 norm: spec.batchNormalize
                                     ? (parameters[.normScale]!, parameters[.rollingMean]!, parameters[.rollingVariance]!) : nil,
                                 activation: spec.activation, learningRateScale: spec.learningRateScale)
    }

    func forward(_ pass: TrainingPass) {
        Kernels.gemm(m: pass.batch, n: spec.outputs, k: spec.inputs, a: pass.input, b: product.weights.values, transposeB: true,
                     c: pass.output)
        product.forward(pass.output, batch: pass.batch)
    }

    func backward(_ pass: TrainingPass) {
        let (n, k) = (spec.outputs, spec.inputs)
        product.backward(output: pass.output, delta: pass.delta, batch: pass.batch)
        // Weights (outputs × inputs) += deltaᵀ · input; the input's delta += delta · weights.
        accumulateProduct(m: n, n: k, k: pass.batch, a: pass.delta, transposeA: true, b: pass.input, c: product.weights.updates.pointer)
        if let inputDelta = pass.inputDelta {
            accumulateProduct(m: pass.batch, n: k, k: n, a: pass.delta, b: product.weights.values, c: inputDelta)
        }
    }

    func update(_ step: UpdateStep) { product.update(step) }
}
