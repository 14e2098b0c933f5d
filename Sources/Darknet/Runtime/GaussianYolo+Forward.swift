extension GaussianYolo: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.output.update(from: pass.input, count: pass.batch * output.count)
        pass.eachImage(output, output) { _, out in Self.activate(self, out) }
    }

    /// `forward_gaussian_yolo_layer`: per anchor, the logistic on channels 0–3 (μx, σx, μy, σy),
    /// 5, 7 (σw, σh) and 8… (objectness, classes); then μx, μy ← s·μ − (s − 1)/2.
    static func activate(_ spec: GaussianYolo, _ values: UnsafeMutablePointer<Float>) {
        let plane = spec.output.height * spec.output.width
        let perAnchor = (spec.classes + 9) * plane
        let shift = -0.5 * (spec.scaleXY - 1)
        for anchor in 0..<spec.mask.count {
            let base = values + anchor * perAnchor
            let logistic: [Range<Int>] = [0..<4, 5..<6, 7..<(spec.classes + 9)]
            for channels in logistic { Activation.logistic.apply(base + channels.lowerBound * plane, count: channels.count * plane) }
            for channel in [0, 2] {
                let mean = base + channel * plane
                for i in 0..<plane { mean[i] = mean[i] * spec.scaleXY + shift }
            }
        }
    }
}

extension GaussianYolo {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}
