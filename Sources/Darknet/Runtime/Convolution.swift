/// A convolution bound to its parameters: Darknet's `forward_convolutional_layer` —
/// im2col + sgemm per image and group, then batch-norm (or bias), then the activation.
struct Convolution {
    let spec: Convolutional
    let biases: UnsafeMutablePointer<Float>
    /// Batch-norm scales, rolling mean and variance (nil without batch-norm).
    let scales: UnsafeMutablePointer<Float>?
    let mean: UnsafeMutablePointer<Float>?
    let variance: UnsafeMutablePointer<Float>?
    let weights: UnsafeMutablePointer<Float>

    /// Binds `spec` to its arrays, which start at `base` in `Layer.weightArrays` order.
    init(_ spec: Convolutional, parameters base: UnsafeMutablePointer<Float>) {
        self.spec = spec
        let n = spec.filters
        biases = base
        if spec.batchNormalize {
            (scales, mean, variance) = (base + n, base + 2 * n, base + 3 * n)
            weights = base + 4 * n
        } else {
            (scales, mean, variance) = (nil, nil, nil)
            weights = base + n
        }
    }

    var floatsPerImage: Int { spec.output.count }

    /// Called with the raw convolution output (before batch-norm) of a whole batch; `init`
    /// uses it to set batch-norm statistics from what the layer really produces.
    typealias Calibrator = (_ convolution: Convolution, _ raw: UnsafeMutablePointer<Float>, _ batch: Int) -> Void

    func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int,
                 workspace: UnsafeMutablePointer<Float>, calibrate: Calibrator? = nil) {
        let groups = spec.groups
        let inChannels = spec.input.channels / groups
        let outChannels = spec.filters / groups
        let spatial = spec.output.height * spec.output.width
        let k = inChannels * spec.size * spec.size
        for image in 0..<batch {
            for group in 0..<groups {
                let source = input + image * spec.input.count + group * inChannels * spec.input.height * spec.input.width
                var columns = source
                if spec.needsColumns {
                    Kernels.im2col(source, channels: inChannels, height: spec.input.height, width: spec.input.width,
                                   size: spec.size, stride: spec.stride, padding: spec.padding, dilation: spec.dilation,
                                   outHeight: spec.output.height, outWidth: spec.output.width, into: workspace)
                    columns = UnsafePointer(workspace)
                }
                Kernels.gemm(m: outChannels, n: spatial, k: k, a: weights + group * outChannels * k, b: columns,
                             c: output + image * floatsPerImage + group * outChannels * spatial)
            }
        }
        calibrate?(self, output, batch)
        for image in 0..<batch {
            let out = output + image * floatsPerImage
            if let mean, let variance {
                Kernels.batchNorm(out, channels: spec.filters, spatial: spatial, scales: scales, mean: mean, variance: variance, biases: biases)
            } else {
                Kernels.addBias(out, channels: spec.filters, spatial: spatial, biases: biases)
            }
        }
        spec.activation.apply(output, count: batch * floatsPerImage)
    }
}

extension Convolutional {
    /// A 1×1, stride-1, unpadded convolution multiplies the input itself: no im2col.
    var needsColumns: Bool { !(size == 1 && stride == 1 && padding == 0) }

    /// im2col floats for one image and group.
    var columnFloats: Int {
        needsColumns ? input.channels / groups * size * size * output.height * output.width : 0
    }
}
