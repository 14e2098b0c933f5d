extension ActivationLayer: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    /// `forward_activation_layer`: a copy of the input, activated, split over the cores.
    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        let count = pass.batch * output.count
        Parallel.forEach(count, work: count) { range in
            (pass.output + range.lowerBound).update(from: pass.input + range.lowerBound, count: range.count)
            activation.apply(pass.output + range.lowerBound, count: range.count)
        }
    }
}
