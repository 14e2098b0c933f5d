extension Softmax: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    /// A softmax over each of `groups` slices of every image.
    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        let n = output.count / groups
        for slice in 0..<(pass.batch * groups) {
            Kernels.softmax(pass.input + slice * n, n: n, stride: 1, temperature: temperature, output: pass.output + slice * n)
        }
    }
}

extension Dropout: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.output.update(from: pass.input, count: pass.batch * output.count)
    }
}

extension Cost: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.output.update(from: pass.input, count: pass.batch * output.count)
    }
}

extension BatchNorm {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan {
        BatchNormPlan(shape: output, parameters: binding.take(weightArrays), dialect: binding.dialect)
    }
}

/// A standalone batch-norm bound to its scales and rolling statistics (and biases).
struct BatchNormPlan: LayerPlan, @unchecked Sendable {
    let shape: Shape
    let parameters: BoundParameters
    let dialect: Dialect

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.output.update(from: pass.input, count: pass.batch * shape.count)
        for image in 0..<pass.batch {
            Kernels.batchNorm(pass.output + image * shape.count, channels: shape.channels, spatial: shape.count / shape.channels,
                              scales: parameters[.normScale]!, mean: parameters[.rollingMean]!,
                              variance: parameters[.rollingVariance]!, biases: parameters[.normBias], dialect: dialect)
        }
    }
}
