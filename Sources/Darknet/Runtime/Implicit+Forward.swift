extension Implicit {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan {
        ImplicitPlan(count: output.count, values: binding.take(weightArrays)[.learned]!)
    }
}

/// `forward_implicit_layer`: each image's output is the stored tensor.
struct ImplicitPlan: LayerPlan, @unchecked Sendable {
    let count: Int
    let values: UnsafeMutablePointer<Float>

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        for image in 0..<pass.batch { (pass.output + image * count).update(from: values, count: count) }
    }
}

extension ImplicitPlan {
    func trainer() throws -> any LayerTrainer { throw untrainable(Implicit.typeName) }
}
