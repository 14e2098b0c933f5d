@_spi(CLI) import Darknet
import Dispatch

extension BenchCommand {
    /// `bench --train`: training steps (forward in training mode, backward, update) against
    /// inference forward passes of the same network (im2col + GEMM for both, as training
    /// multiplies), timed in alternating rounds so that a busy machine slows both alike.
    func benchTraining(_ spec: NetworkDefinition, weights: NetworkWeights?) throws {
        let network = try Network(definition: spec, weights: weights ?? RandomWeights.initial(for: spec, seed: 1), winograd: false)
        let trainer = try Trainer(network)
        let context = InferenceContext(network, batch: batch)
        var random = TrainingRandom(seed: 1)
        let input = Tensor(shape: [batch, spec.input.channels, spec.input.height, spec.input.width],
                           data: (0..<(batch * spec.input.count)).map { _ in random.uniform(0, 1) })
        // A softmax's one-hot truth; a detector's empty box list (x = 0 ends it).
        let truths = trainer.truthsPerImage
        let oneHot = truths == spec.layers.last!.output.count
        let truth = Tensor(shape: [batch, truths], data: (0..<(batch * truths)).map { oneHot && $0 % truths == ($0 / truths) % truths ? 1 : 0 })
        func milliseconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        var (steps, forwards): ([Double], [Double]) = ([], [])
        for round in 0...runs {
            let step = try milliseconds { try trainer.step(input: input, truth: truth) }
            let forward = milliseconds { input.data.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) } }
            if round > 0 { (steps, forwards) = (steps + [step], forwards + [forward]) } // round 0 warms up
        }
        let (step, forward) = (steps.sorted()[runs / 2], forwards.sorted()[runs / 2])
        print(String(printf: "training step %.2f ms, forward %.2f ms (medians of %d alternating rounds, batch %d): %.2fx; ",
                     step, forward, runs, batch, step / forward) + "OpenBLAS \(BLAS.coreName) with \(BLAS.threads) threads")
    }
}
