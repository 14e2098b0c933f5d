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

extension Reorg: StatelessTraining {
    func trainer() throws -> any LayerTrainer { StatelessTrainer(self) }

    /// `backward_reorg_layer`: each input position gets the delta of the position it went to
    /// (added; Darknet's CPU code copies it over what is there, as a 1×1 convolution's does).
    func backward(_ pass: TrainingPass) {
        guard let inputDelta = pass.inputDelta else { return }
        for image in 0..<pass.batch {
            let (delta, target) = (pass.delta + image * output.count, inputDelta + image * input.count)
            if extra > 0 {
                for i in 0..<input.count { target[i] += delta[i] }
                continue
            }
            eachPair { inIndex, outIndex in
                if reverse { target[inIndex] += delta[outIndex] } else { target[outIndex] += delta[inIndex] }
            }
        }
    }
}
