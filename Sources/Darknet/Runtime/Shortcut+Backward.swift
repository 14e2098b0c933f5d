extension Shortcut {
    func trainer() throws -> any LayerTrainer {
        guard fromShape == output else {
            throw TrainingUnsupported(reason: "[shortcut] from a layer of another shape (\(fromShape) to \(output)) has no backward pass yet")
        }
        guard activation.hasGradient else {
            throw TrainingUnsupported(reason: "[shortcut] activation=\(activation.rawValue) has no gradient in Darknet's CPU code")
        }
        return ShortcutTrainer(self)
    }
}

/// `backward_shortcut_layer`: the activation's gradient, then alpha·delta to the previous
/// layer and beta·delta to layer `from`.
final class ShortcutTrainer: LayerTrainer {
    let spec: Shortcut

    init(_ spec: Shortcut) { self.spec = spec }

    func forward(_ pass: TrainingPass) { spec.forward(pass.forwardPass, sources: pass.outputs) }

    func backward(_ pass: TrainingPass) {
        let count = pass.batch * spec.output.count
        spec.activation.multiplyGradient(pass.output, into: pass.delta, count: count)
        if let inputDelta = pass.inputDelta {
            for i in 0..<count { inputDelta[i] += spec.alpha * pass.delta[i] }
        }
        let from = pass.deltas(spec.from)
        for i in 0..<count { from[i] += spec.beta * pass.delta[i] }
    }
}
