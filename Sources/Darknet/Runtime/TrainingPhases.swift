import Dispatch

/// The seconds each phase of one training step takes, for `bench --train`.
@_spi(CLI) public struct TrainingPhaseTimes: Sendable {
    /// The forward pass in training mode (batch-norm on the batch, losses' deltas).
    public var forward: Double
    /// The backward pass: a forward and backward pass less a forward pass, timed apart.
    public var backward: Double
    /// Darknet's `update_network` over every layer.
    public var update: Double
}

extension Trainer {
    /// Runs a step's phases apart and times them: a forward pass alone, a forward and backward
    /// pass, and the update. The parameters change as in a step; `seen` does not. The truth is
    /// not checked (a benchmark makes its own).
    @_spi(CLI) public func timePhases(input: Tensor, truth: Tensor) throws -> TrainingPhaseTimes {
        let batch = try network.checkInput(input)
        func seconds(_ body: () -> Void) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let forward = seconds { propagate(input: input, truth: truth, batch: batch, backward: false) }
        let both = seconds { propagate(input: input, truth: truth, batch: batch, backward: true) }
        let options = network.definition.training
        let step = UpdateStep(rate: options.rate(batchNumber: Int(seen / UInt64(batch))), momentum: options.momentum,
                              decay: options.decay, batch: batch, adam: options.adam ? (options.b1, options.b2, options.eps, 1) : nil)
        let update = seconds {
            for index in network.definition.layers.indices { trainer(of: index).update(step) }
        }
        return TrainingPhaseTimes(forward: forward, backward: both - forward, update: update)
    }
}
