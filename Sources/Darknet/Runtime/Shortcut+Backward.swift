extension Shortcut: StatelessTraining {
    func trainer() throws -> any LayerTrainer {
        try activation.requireOutputGradient(in: Self.typeName)
        return StatelessTrainer(self)
    }

    /// `backward_shortcut_layer`: the activation's gradient, then alpha·delta to the previous
    /// layer (everywhere, though the forward pass scaled only where `from` was added: Darknet's)
    /// and beta·delta to layer `from`, sampled back as `shortcut_cpu` does between shapes.
    func backward(_ pass: TrainingPass) {
        let count = pass.batch * output.count
        activation.multiplyGradient(pass.output, into: pass.delta, count: count)
        if let inputDelta = pass.inputDelta {
            for i in 0..<count { inputDelta[i] += alpha * pass.delta[i] }
        }
        let source = pass.deltas(from)
        if fromShape == output {
            for i in 0..<count { source[i] += beta * pass.delta[i] }
        } else {
            Self.addSampled(pass.delta, output, into: source, fromShape, keeping: 1, adding: beta, batch: pass.batch)
        }
    }
}
