extension Shortcut: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        Self.shortcut(self, input: pass.input, add: sources(from), pass.output, batch: pass.batch)
    }

    /// `forward_shortcut_layer`: out = alpha·input + beta·add over the common channels (sampling
    /// the larger grid, as `shortcut_cpu`), input elsewhere, then the activation. Equal shapes,
    /// the usual case, take one fused pass split over the cores.
    static func shortcut(_ spec: Shortcut, input: UnsafePointer<Float>, add: UnsafePointer<Float>,
                         _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let count = batch * spec.output.count
        if spec.fromShape == spec.output {
            let (alpha, beta) = (spec.alpha, spec.beta)
            Parallel.forEach(count, work: count) { range in
                for i in range { output[i] = alpha * input[i] + beta * add[i] }
                spec.activation.apply(output + range.lowerBound, count: range.count)
            }
            return
        }
        output.update(from: input, count: count)
        let (w1, h1, c1) = (spec.fromShape.width, spec.fromShape.height, spec.fromShape.channels)
        let (w2, h2, c2) = (spec.output.width, spec.output.height, spec.output.channels)
        let stride = max(w1 / w2, 1), sample = max(w2 / w1, 1)
        let (minW, minH, minC) = (min(w1, w2), min(h1, h2), min(c1, c2))
        for b in 0..<batch {
            for k in 0..<minC {
                for j in 0..<minH {
                    for i in 0..<minW {
                        let out = i * sample + w2 * (j * sample + h2 * (k + c2 * b))
                        let source = i * stride + w1 * (j * stride + h1 * (k + c1 * b))
                        output[out] = spec.alpha * output[out] + spec.beta * add[source]
                    }
                }
            }
        }
        spec.activation.apply(output, count: count)
    }

}
