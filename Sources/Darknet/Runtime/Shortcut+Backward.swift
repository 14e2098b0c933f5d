extension ShortcutPlan: StatelessTraining {
    func trainer() throws -> any LayerTrainer {
        guard spec.from.count == 1, weights == nil else {
            throw TrainingUnsupported(reason: "[shortcut] with several from= or weights_type has no backward pass yet")
        }
        try spec.activation.requireOutputGradient(in: Shortcut.typeName)
        return StatelessTrainer(self)
    }

    /// `backward_shortcut_layer`: the activation's gradient, then alpha·delta to the previous
    /// layer (everywhere, though the forward pass scaled only where `from` was added: Darknet's)
    /// and beta·delta to layer `from`, sampled back as `shortcut_cpu` does between shapes.
    func backward(_ pass: TrainingPass) {
        let count = pass.batch * spec.output.count
        let (activation, alpha, beta, output, fromShape) = (spec.activation, spec.alpha, spec.beta, spec.output, spec.fromShapes[0])
        activation.multiplyGradient(pass.output, into: pass.delta, count: count)
        if let inputDelta = pass.inputDelta {
            for i in 0..<count { inputDelta[i] += alpha * pass.delta[i] }
        }
        let source = pass.deltas(spec.from[0])
        if fromShape == output {
            for i in 0..<count { source[i] += beta * pass.delta[i] }
        } else {
            Shortcut.addSampled(pass.delta, output, into: source, fromShape, keeping: 1, adding: beta, batch: pass.batch)
        }
    }
}
