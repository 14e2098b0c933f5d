extension ScaleChannels: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        let scaled = UnsafePointer(sources(from))
        pass.eachImage(input, output) { factors, out in
            let image = out - pass.output
            Self.scale(self, factors: factors, scaled: scaled + image, out)
        }
    }

    /// `forward_scale_channels_layer`: out[c, y, x] = factor · from[c, y, x], the factor being
    /// the input's channel c (or, with scale_wh, its pixel (y, x)).
    static func scale(_ spec: ScaleChannels, factors: UnsafePointer<Float>, scaled: UnsafePointer<Float>,
                      _ output: UnsafeMutablePointer<Float>) {
        let plane = spec.output.height * spec.output.width
        for c in 0..<spec.output.channels {
            let (source, out) = (scaled + c * plane, output + c * plane)
            if spec.scaleWH {
                for i in 0..<plane { out[i] = factors[i] * source[i] }
            } else {
                let factor = factors[c]
                for i in 0..<plane { out[i] = factor * source[i] }
            }
        }
        spec.activation.apply(output, count: spec.output.count)
    }
}

extension Sam: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    /// `forward_sam_layer`: out = input ⊙ from, then the activation.
    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        let (input, other, count) = (pass.input, UnsafePointer(sources(from)), pass.batch * output.count)
        for i in 0..<count { pass.output[i] = input[i] * other[i] }
        activation.apply(pass.output, count: count)
    }
}

extension ScaleChannels {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}

extension Sam {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}
