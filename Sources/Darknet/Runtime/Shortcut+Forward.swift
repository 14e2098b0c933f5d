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
        addSampled(add, spec.fromShape, into: output, spec.output, keeping: spec.alpha, adding: spec.beta, batch: batch)
        spec.activation.apply(output, count: count)
    }

    /// Darknet's `shortcut_cpu`: out = s1·out + s2·add over the common channels, sampling the
    /// larger grid with a whole-number stride (positions of `out` it does not reach are left).
    static func addSampled(_ add: UnsafePointer<Float>, _ addShape: Shape, into out: UnsafeMutablePointer<Float>, _ outShape: Shape,
                           keeping s1: Float, adding s2: Float, batch: Int) {
        let (w1, h1, c1) = (addShape.width, addShape.height, addShape.channels)
        let (w2, h2, c2) = (outShape.width, outShape.height, outShape.channels)
        let stride = max(w1 / w2, 1), sample = max(w2 / w1, 1)
        let (minW, minH, minC) = (min(w1, w2), min(h1, h2), min(c1, c2))
        for b in 0..<batch {
            for k in 0..<minC {
                for j in 0..<minH {
                    for i in 0..<minW {
                        let target = i * sample + w2 * (j * sample + h2 * (k + c2 * b))
                        let source = i * stride + w1 * (j * stride + h1 * (k + c1 * b))
                        out[target] = s1 * out[target] + s2 * add[source]
                    }
                }
            }
        }
    }

}
