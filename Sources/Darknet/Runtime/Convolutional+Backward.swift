extension ConvolutionPlan {
    func trainer() throws -> any LayerTrainer {
        guard spec.dilation == 1 else {
            throw TrainingUnsupported(reason: "[convolutional] dilation=\(spec.dilation) has no backward pass yet")
        }
        guard spec.strideY == spec.stride else {
            throw TrainingUnsupported(reason: "[convolutional] stride_x=\(spec.stride) stride_y=\(spec.strideY) has no backward pass yet")
        }
        guard spec.sharedParameters == nil else {
            throw TrainingUnsupported(reason: "[convolutional] share_index has no backward pass yet")
        }
        return ConvolutionTrainer(self)
    }
}

/// `forward_convolutional_layer` in training (im2col + GEMM, batch-norm on the batch) and
/// `backward_convolutional_layer`. One documented difference: Darknet's 1×1 backward writes
/// the delta of the layer below with its product instead of adding to it, which erases what
/// a route or shortcut added there; this adds, as every other kind does.
final class ConvolutionTrainer: LayerTrainer {
    let spec: Convolutional
    let product: TrainedProduct
    /// One image's and group's im2col columns (fanIn × output plane).
    private let columns: TrainingBuffer

    init(_ plan: ConvolutionPlan) {
        spec = plan.spec
        product = TrainedProduct(weights: plan.weights, count: spec.weightCount, biases: plan.biases, channels: spec.filters,
                                 spatial: spec.output.height * spec.output.width,
                                 norm: spec.batchNormalize ? (plan.scales!, plan.mean!, plan.variance!) : nil,
                                 activation: spec.activation, learningRateScale: spec.learningRateScale)
        columns = TrainingBuffer(spec.fanIn * spec.output.height * spec.output.width)
    }

    private var spatial: Int { spec.output.height * spec.output.width }
    private var inChannels: Int { spec.input.channels / spec.groups }
    private var outChannels: Int { spec.filters / spec.groups }

    /// The im2col columns of image `b`'s group `g` of `input`.
    private func unroll(_ input: UnsafePointer<Float>, _ b: Int, _ g: Int) {
        let plane = spec.input.height * spec.input.width
        Kernels.im2col(input + (b * spec.groups + g) * inChannels * plane, channels: inChannels,
                       height: spec.input.height, width: spec.input.width, size: spec.size, stride: spec.stride,
                       strideY: spec.strideY, padding: spec.padding, dilation: 1, rows: 0..<spec.output.height, outWidth: spec.output.width,
                       into: columns.pointer, rowLength: spatial)
    }

    func forward(_ pass: TrainingPass) {
        let k = spec.fanIn
        for b in 0..<pass.batch {
            for g in 0..<spec.groups {
                unroll(pass.input, b, g)
                Kernels.gemm(m: outChannels, n: spatial, k: k, a: product.weights.values + g * outChannels * k, b: columns.pointer,
                             c: pass.output + (b * spec.groups + g) * outChannels * spatial)
            }
        }
        product.forward(pass.output, batch: pass.batch)
    }

    func backward(_ pass: TrainingPass) {
        let k = spec.fanIn
        product.backward(output: pass.output, delta: pass.delta, batch: pass.batch)
        let plane = spec.input.height * spec.input.width
        for b in 0..<pass.batch {
            for g in 0..<spec.groups {
                let delta = pass.delta + (b * spec.groups + g) * outChannels * spatial
                unroll(pass.input, b, g)
                accumulateProduct(m: outChannels, n: k, k: spatial, a: delta, b: columns.pointer, transposeB: true,
                                  c: product.weights.updates.pointer + g * outChannels * k)
                guard let inputDelta = pass.inputDelta else { continue }
                Kernels.gemm(m: k, n: spatial, k: outChannels, a: product.weights.values + g * outChannels * k, transposeA: true,
                             b: delta, c: columns.pointer)
                col2im(columns.pointer, into: inputDelta + (b * spec.groups + g) * inChannels * plane)
            }
        }
    }

    /// Darknet's `col2im_cpu`: adds each column value back to the input position it came from.
    private func col2im(_ columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>) {
        let (height, width, size) = (spec.input.height, spec.input.width, spec.size)
        let (outHeight, outWidth) = (spec.output.height, spec.output.width)
        for row in 0..<(inChannels * size * size) {
            let (kx, ky, channel) = (row % size, (row / size) % size, row / size / size)
            for oy in 0..<outHeight {
                let y = ky + oy * spec.stride - spec.padding
                guard y >= 0 && y < height else { continue }
                for ox in 0..<outWidth {
                    let x = kx + ox * spec.stride - spec.padding
                    guard x >= 0 && x < width else { continue }
                    image[(channel * height + y) * width + x] += columns[(row * outHeight + oy) * outWidth + ox]
                }
            }
        }
    }

    func update(_ step: UpdateStep) { product.update(step) }
}
