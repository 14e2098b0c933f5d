extension MaxPool {
    func trainer() throws -> any LayerTrainer {
        guard !depth, strideY == stride else {
            throw TrainingUnsupported(reason: "[maxpool] maxpool_depth and stride_x/stride_y have no backward pass yet")
        }
        return MaxPoolTrainer(self)
    }
}

/// `forward_maxpool_layer`, keeping each output's winning input, and `backward_maxpool_layer`,
/// which gives that input the output's delta.
final class MaxPoolTrainer: LayerTrainer {
    let spec: MaxPool
    private var winners: [Int] = []

    init(_ spec: MaxPool) { self.spec = spec }

    func forward(_ pass: TrainingPass) {
        let (input, output) = (spec.input, spec.output)
        let offset = -spec.padding / 2
        winners = Array(repeating: -1, count: pass.batch * output.count)
        var o = 0
        for plane in 0..<(pass.batch * output.channels) {
            for oy in 0..<output.height {
                for ox in 0..<output.width {
                    var (best, winner) = (-Float.greatestFiniteMagnitude, -1)
                    for ky in 0..<spec.size {
                        for kx in 0..<spec.size {
                            let (y, x) = (offset + oy * spec.stride + ky, offset + ox * spec.stride + kx)
                            let index = (plane * input.height + y) * input.width + x
                            let valid = y >= 0 && y < input.height && x >= 0 && x < input.width
                            let value = valid ? pass.input[index] : -Float.greatestFiniteMagnitude
                            if value > best { (best, winner) = (value, index) }
                        }
                    }
                    pass.output[o] = best
                    winners[o] = winner
                    o += 1
                }
            }
        }
    }

    func backward(_ pass: TrainingPass) {
        guard let inputDelta = pass.inputDelta else { return }
        for (o, winner) in winners.enumerated() where winner >= 0 { inputDelta[winner] += pass.delta[o] }
    }
}

extension AvgPool: StatelessTraining {
    func trainer() throws -> any LayerTrainer { StatelessTrainer(self) }

    /// Global average pooling: `backward_avgpool_layer` spreads each delta evenly over its plane.
    func backward(_ pass: TrainingPass) {
        guard let inputDelta = pass.inputDelta else { return }
        let spatial = input.height * input.width
        for plane in 0..<(pass.batch * input.channels) {
            let share = pass.delta[plane] / Float(spatial)
            for i in 0..<spatial { inputDelta[plane * spatial + i] += share }
        }
    }
}
