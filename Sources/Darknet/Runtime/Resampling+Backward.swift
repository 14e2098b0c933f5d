extension Upsample: StatelessTraining {
    func trainer() throws -> any LayerTrainer {
        guard !downsample else { throw TrainingUnsupported(reason: "[upsample] with a negative stride has no backward pass yet") }
        return StatelessTrainer(self)
    }

    /// `backward_upsample_layer`: each input position gets the sum of its stride×stride
    /// copies' deltas, times `scale`.
    func backward(_ pass: TrainingPass) {
        guard let inputDelta = pass.inputDelta else { return }
        for plane in 0..<(pass.batch * input.channels) {
            for y in 0..<output.height {
                for x in 0..<output.width {
                    inputDelta[(plane * input.height + y / stride) * input.width + x / stride]
                        += scale * pass.delta[(plane * output.height + y) * output.width + x]
                }
            }
        }
    }
}

extension Reorg {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}
