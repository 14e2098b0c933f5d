extension ActivationLayer: StatelessTraining {
    func trainer() throws -> any LayerTrainer {
        try activation.requireOutputGradient(in: Self.typeName)
        return StatelessTrainer(self)
    }

    /// `backward_activation_layer`: the activation's gradient, then the delta to the layer
    /// below — added to it, where Darknet's CPU code copies over whatever a route or shortcut
    /// put there (as a 1×1 convolution's does).
    func backward(_ pass: TrainingPass) {
        activation.multiplyGradient(pass.output, into: pass.delta, count: pass.batch * output.count)
        addDelta(pass, times: 1)
    }
}
