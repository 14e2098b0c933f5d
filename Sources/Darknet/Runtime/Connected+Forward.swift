extension Connected {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan {
        ConnectedPlan(spec: self, parameters: binding.take(weightArrays), dialect: binding.dialect)
    }
}

/// A connected layer bound to its parameters.
struct ConnectedPlan: LayerPlan, @unchecked Sendable {
    let spec: Connected
    let parameters: BoundParameters
    let dialect: Dialect

    func runsWholeBatch(_ batch: Int) -> Bool { true } // one GEMM over the batch

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        Self.connected(spec, parameters, pass.input, pass.output, batch: pass.batch, dialect: dialect)
    }

    /// `forward_connected_layer`: x·Wᵀ, then batch-norm (whose β are the biases) or bias, then the activation.
    static func connected(_ spec: Connected, _ parameters: BoundParameters, _ input: UnsafePointer<Float>,
                          _ output: UnsafeMutablePointer<Float>, batch: Int, dialect: Dialect) {
        let (n, k) = (spec.outputs, spec.inputs)
        Kernels.gemm(m: batch, n: n, k: k, a: input, b: parameters[.weights]!, transposeB: true, c: output)
        for image in 0..<batch {
            let row = output + image * n
            if let mean = parameters[.rollingMean], let variance = parameters[.rollingVariance] {
                Kernels.batchNorm(row, channels: n, spatial: 1, scales: parameters[.normScale]!, mean: mean,
                                  variance: variance, biases: parameters.biases, dialect: dialect)
            } else {
                Kernels.addBias(row, channels: n, spatial: 1, biases: parameters.biases)
            }
        }
        spec.activation.apply(output, count: batch * n)
    }

}
