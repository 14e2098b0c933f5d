extension Shortcut: StatelessTraining {
    func trainer() throws -> any LayerTrainer {
        guard fromShape == output else {
            throw TrainingUnsupported(reason: "[shortcut] from a layer of another shape (\(fromShape) to \(output)) has no backward pass yet")
        }
        try activation.requireOutputGradient(in: Self.typeName)
        return StatelessTrainer(self)
    }

    /// `backward_shortcut_layer`: the activation's gradient, then alpha·delta to the previous
    /// layer and beta·delta to layer `from`.
    func backward(_ pass: TrainingPass) {
        let count = pass.batch * output.count
        activation.multiplyGradient(pass.output, into: pass.delta, count: count)
        if let inputDelta = pass.inputDelta {
            for i in 0..<count { inputDelta[i] += alpha * pass.delta[i] }
        }
        let source = pass.deltas(from)
        for i in 0..<count { source[i] += beta * pass.delta[i] }
    }
}
