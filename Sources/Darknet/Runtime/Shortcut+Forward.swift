import Glibc

extension Shortcut {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan {
        ShortcutPlan(spec: self, weights: weighting == .none ? nil : binding.take(weightArrays)[.mixingWeights]!)
    }
}

struct ShortcutPlan: LayerPlan, @unchecked Sendable {
    let spec: Shortcut
    /// AlexeyAB's stored weights: the input's term, then each `from` layer's, `weightsPerTerm` each.
    let weights: UnsafeMutablePointer<Float>?

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        if spec.from.count == 1 && weights == nil {
            Shortcut.shortcut(spec, input: pass.input, add: sources(spec.from[0]), pass.output, batch: pass.batch)
        } else {
            let adds = spec.from.map { UnsafePointer(sources($0)) }
            pass.eachImage(spec.output, spec.output) { input, output in
                let image = (output - pass.output) / spec.output.count
                Shortcut.weightedSum(spec, weights: weights, input: input,
                                     adds: zip(adds, spec.fromShapes).map { $0 + image * $1.count }, output)
            }
        }
    }
}

extension Shortcut {
    /// The weights of the n + 1 terms for one channel, normalised as `shortcut_multilayer_cpu`
    /// does: max(w, 0)/(1e-4 + Σ max(w, 0)), or e^(w − max)/(1e-4 + Σ e^(w − max)).
    static func termWeights(_ spec: Shortcut, _ weights: UnsafePointer<Float>, channel: Int) -> [Float] {
        let step = spec.weightsPerTerm
        let raw = (0...spec.from.count).map { weights[$0 * step + (step == 1 ? 0 : channel)] }
        switch spec.normalization! {
        case .relu:
            let sum = raw.reduce(Float(1e-4)) { $0 + max($1, 0) }
            return raw.map { max($0, 0) / sum }
        case .softmax:
            let largest = raw.max()!
            let sum = raw.reduce(Float(1e-4)) { $0 + expf($1 - largest) }
            return raw.map { expf($0 - largest) / sum }
        }
    }

    /// AlexeyAB's `shortcut_multilayer_cpu` on one image: out = w₀·input + Σ wᵢ·fromᵢ over the
    /// channels each `from` layer has (weights 1 without `weights_type`), then the activation.
    static func weightedSum(_ spec: Shortcut, weights: UnsafePointer<Float>?, input: UnsafePointer<Float>,
                            adds: [UnsafePointer<Float>], _ output: UnsafeMutablePointer<Float>) {
        let plane = spec.output.height * spec.output.width
        for c in 0..<spec.output.channels {
            let (source, out) = (input + c * plane, output + c * plane)
            let terms = weights.map { termWeights(spec, $0, channel: c) }
            if let w = terms?[0] {
                for j in 0..<plane { out[j] = source[j] * w }
            } else {
                out.update(from: source, count: plane)
            }
            for (i, add) in adds.enumerated() where c < spec.fromShapes[i].channels {
                let addend = add + c * plane
                if let w = terms?[i + 1] {
                    for j in 0..<plane { out[j] += addend[j] * w }
                } else {
                    for j in 0..<plane { out[j] += addend[j] }
                }
            }
        }
        spec.activation.apply(output, count: spec.output.count)
    }

    /// `forward_shortcut_layer`: out = alpha·input + beta·add over the common channels (sampling
    /// the larger grid, as `shortcut_cpu`), input elsewhere, then the activation. Equal shapes,
    /// the usual case, take one fused pass split over the cores.
    static func shortcut(_ spec: Shortcut, input: UnsafePointer<Float>, add: UnsafePointer<Float>,
                         _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let count = batch * spec.output.count
        if spec.fromShapes[0] == spec.output {
            let (alpha, beta) = (spec.alpha, spec.beta)
            Parallel.forEach(count, work: count) { range in
                for i in range { output[i] = alpha * input[i] + beta * add[i] }
                spec.activation.apply(output + range.lowerBound, count: range.count)
            }
            return
        }
        output.update(from: input, count: count)
        addSampled(add, spec.fromShapes[0], into: output, spec.output, keeping: spec.alpha, adding: spec.beta, batch: batch)
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
