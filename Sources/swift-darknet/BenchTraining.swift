@_spi(CLI) import Darknet
import Dispatch

extension BenchCommand {
    /// `bench --train`: in each run an inference forward pass, then a training step's phases
    /// apart, so that the phases share the machine's moments; medians of each.
    func runTraining(_ spec: NetworkDefinition) throws -> Int32 {
        let weights = try weights.map { try readWeights($0, for: spec, mapped: false) } ?? RandomWeights.make(for: spec)
        let inference = try Network(definition: spec, weights: weights, winograd: winograd, directConvolution: directConvolution)
        let context = InferenceContext(inference, batch: batch)
        // A copy: the trainer writes the parameters in place.
        let trainer = try Trainer(Network(definition: spec, weights: try NetworkWeights(header: weights.header, floats: weights.floats, for: spec), winograd: false))
        let (input, truth) = madeUpBatch(spec, truths: trainer.truthsPerImage)
        var samples: [[Double]] = [[], [], [], []]
        try input.data.withUnsafeBufferPointer { pointer in
            for run in 0...runs { // run 0 warms up
                let start = DispatchTime.now().uptimeNanoseconds
                context.forward(pointer.baseAddress!)
                let forward = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let phases = try trainer.timePhases(input: input, truth: truth)
                guard run > 0 else { continue }
                for (index, seconds) in [forward, phases.forward, phases.backward, phases.update].enumerated() {
                    samples[index].append(seconds * 1e3)
                }
            }
        }
        let (forward, trainForward, backward, update) = (median(samples[0]), median(samples[1]), median(samples[2]), median(samples[3]))
        if json {
            print(#"{"forward_ms": \#(forward), "train_forward_ms": \#(trainForward), "backward_ms": \#(backward), "update_ms": \#(update), "batch": \#(batch), "runs": \#(runs), "threads": \#(BLAS.threads), "blas_core": "\#(BLAS.coreName)", "winograd": \#(winograd)}"#)
        } else {
            print(String(printf: "batch %d, medians over %d runs: forward %.2f ms (inference), training forward %.2f ms, backward %.2f ms, update %.2f ms",
                         batch, runs, forward, trainForward, backward, update))
            print(String(printf: "backward / training forward %.2f, step / forward %.2f; ", backward / trainForward, (trainForward + backward + update) / forward)
                  + "OpenBLAS \(BLAS.coreName) with \(BLAS.threads) threads")
        }
        return 0
    }

    /// Inputs in [0, 1) from a fixed sequence, and a truth each loss accepts: for [yolo] one box
    /// per image in the middle, else image b's one-hot at b modulo the outputs.
    private func madeUpBatch(_ spec: NetworkDefinition, truths: Int) -> (Tensor, Tensor) {
        var state: UInt32 = 1
        let values = (0..<(batch * spec.input.count)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24)
        }
        var truth = [Float](repeating: 0, count: batch * truths)
        for b in 0..<batch {
            if case .yolo(let yolo) = spec.layers.last!.spec {
                truth.replaceSubrange((b * truths)..<(b * truths + 5), with: [0.5, 0.5, 0.25, 0.25, Float(b % yolo.classes)])
            } else {
                truth[b * truths + b % truths] = 1
            }
        }
        let input = Tensor(shape: [batch, spec.input.channels, spec.input.height, spec.input.width], data: values)
        return (input, Tensor(shape: [batch, truths], data: truth))
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
