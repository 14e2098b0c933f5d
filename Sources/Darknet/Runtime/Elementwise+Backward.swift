extension Softmax {
    func trainer() throws -> any LayerTrainer { SoftmaxTrainer(self) }
}

/// `forward_softmax_layer` with a truth: its delta is truth − output (the cross-entropy's
/// gradient at the softmax's input), passed down by `backward_softmax_layer` as it is.
final class SoftmaxTrainer: LayerTrainer {
    let spec: Softmax

    init(_ spec: Softmax) { self.spec = spec }

    func forward(_ pass: TrainingPass) {
        spec.forward(pass.forwardPass, sources: pass.outputs)
        guard !spec.noLoss else { return }
        for i in 0..<(pass.batch * spec.output.count) { pass.delta[i] = pass.truth[i] - pass.output[i] }
    }

    func backward(_ pass: TrainingPass) {
        guard let inputDelta = pass.inputDelta else { return }
        for i in 0..<(pass.batch * spec.output.count) { inputDelta[i] += pass.delta[i] }
    }
}

extension Cost {
    func trainer() throws -> any LayerTrainer {
        guard type == "sse" else { throw TrainingUnsupported(reason: "[cost] type=\(type) has no backward pass yet (only sse)") }
        return CostTrainer(self)
    }
}

/// `[cost]` type sse: delta truth − input, passed down times `scale` (after a softmax, which
/// also adds truth − output, the softmax's input gets twice it: Darknet's doubling, kept).
final class CostTrainer: LayerTrainer {
    let spec: Cost

    init(_ spec: Cost) { self.spec = spec }

    func forward(_ pass: TrainingPass) {
        for i in 0..<(pass.batch * spec.output.count) {
            let difference = pass.truth[i] - pass.input[i]
            pass.delta[i] = difference
            pass.output[i] = difference * difference
        }
    }

    func backward(_ pass: TrainingPass) {
        guard let inputDelta = pass.inputDelta else { return }
        for i in 0..<(pass.batch * spec.output.count) { inputDelta[i] += spec.scale * pass.delta[i] }
    }
}

extension Dropout {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}

extension BatchNormPlan {
    func trainer() throws -> any LayerTrainer { throw untrainable(BatchNorm.typeName) }
}
