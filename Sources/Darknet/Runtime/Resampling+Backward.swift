extension Upsample {
    func trainer() throws -> any LayerTrainer {
        guard !downsample else { throw TrainingUnsupported(reason: "[upsample] with a negative stride has no backward pass yet") }
        return UpsampleTrainer(self)
    }
}

/// `backward_upsample_layer`: each input position gets the sum of its stride×stride copies'
/// deltas, times `scale`.
final class UpsampleTrainer: LayerTrainer {
    let spec: Upsample

    init(_ spec: Upsample) { self.spec = spec }

    func forward(_ pass: TrainingPass) { spec.forward(pass.forwardPass, sources: pass.outputs) }

    func backward(_ pass: TrainingPass) {
        guard let inputDelta = pass.inputDelta else { return }
        let (input, output, stride) = (spec.input, spec.output, spec.stride)
        for plane in 0..<(pass.batch * input.channels) {
            for y in 0..<output.height {
                for x in 0..<output.width {
                    inputDelta[(plane * input.height + y / stride) * input.width + x / stride]
                        += spec.scale * pass.delta[(plane * output.height + y) * output.width + x]
                }
            }
        }
    }
}

extension Reorg {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}
