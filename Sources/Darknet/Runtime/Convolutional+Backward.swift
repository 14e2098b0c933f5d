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
///
/// Where the output plane is small, a band of images is unrolled side by side, so that each
/// product runs over the band's planes at once instead of one short product per image.
final class ConvolutionTrainer: LayerTrainer {
    let spec: Convolutional
    let product: TrainedProduct
    /// The images one product spans: enough for `bandColumns` columns, at least one.
    let band: Int
    /// A band's im2col columns of one group (fanIn × band · output plane).
    private let columns: TrainingBuffer
    /// A band's products or deltas of one group side by side (outChannels × band · output plane).
    private let gathered: TrainingBuffer

    /// The columns a band aims at: past them a product gains little from a longer row.
    static let bandColumns = 1024

    convenience init(_ plan: ConvolutionPlan) {
        let spatial = plan.spec.output.height * plan.spec.output.width
        self.init(plan, band: max(1, Self.bandColumns / max(spatial, 1)))
    }

    /// With `band` images per product (tests compare bands with one image at a time).
    init(_ plan: ConvolutionPlan, band: Int) {
        spec = plan.spec
        product = TrainedProduct(weights: plan.weights, count: spec.weightCount, biases: plan.biases, channels: spec.filters,
                                 spatial: spec.output.height * spec.output.width,
                                 norm: spec.batchNormalize ? (plan.scales!, plan.mean!, plan.variance!) : nil,
                                 activation: spec.activation, learningRateScale: spec.learningRateScale)
        let spatial = spec.output.height * spec.output.width
        self.band = band
        let pointwise = spec.size == 1 && spec.stride == 1 && spec.padding == 0
        columns = TrainingBuffer(pointwise && band == 1 ? 0 : spec.fanIn * band * spatial)
        gathered = TrainingBuffer(band > 1 ? spec.filters / spec.groups * band * spatial : 0)
    }

    private var spatial: Int { spec.output.height * spec.output.width }
    private var inChannels: Int { spec.input.channels / spec.groups }
    private var outChannels: Int { spec.filters / spec.groups }
    /// A 1×1 convolution of stride 1 without padding: one image's columns are its input.
    private var pointwise: Bool { spec.size == 1 && spec.stride == 1 && spec.padding == 0 }

    /// Image `b`'s group `g` of `input` as columns: the input itself for a pointwise layer.
    private func inputColumns(_ input: UnsafePointer<Float>, _ b: Int, _ g: Int) -> UnsafePointer<Float>? {
        pointwise ? input + (b * spec.groups + g) * inChannels * spec.input.height * spec.input.width : nil
    }

    /// The im2col columns of group `g` of `images` images from `first` of `input`, side by side.
    private func unroll(_ input: UnsafePointer<Float>, _ first: Int, _ images: Int, _ g: Int) {
        let plane = spec.input.height * spec.input.width
        for j in 0..<images {
            Kernels.im2col(input + ((first + j) * spec.groups + g) * inChannels * plane, channels: inChannels,
                           height: spec.input.height, width: spec.input.width, size: spec.size, stride: spec.stride,
                           strideY: spec.strideY, padding: spec.padding, dilation: 1, rows: 0..<spec.output.height,
                           outWidth: spec.output.width, into: columns.pointer + j * spatial, rowLength: images * spatial)
        }
    }

    /// Calls `body` with each band of images: its first image and its count.
    private func forEachBand(_ batch: Int, _ body: (_ first: Int, _ images: Int) -> Void) {
        for first in stride(from: 0, to: batch, by: band) { body(first, min(band, batch - first)) }
    }

    /// Copies group `g` of a band's planes between the batch's layout in `values` and `gathered`.
    private func move(_ values: UnsafeMutablePointer<Float>, _ first: Int, _ images: Int, _ g: Int, gathering: Bool) {
        let row = images * spatial
        for j in 0..<images {
            for c in 0..<outChannels {
                let planar = values + (((first + j) * spec.groups + g) * outChannels + c) * spatial
                let side = gathered.pointer + c * row + j * spatial
                if gathering { side.update(from: planar, count: spatial) } else { planar.update(from: side, count: spatial) }
            }
        }
    }

    func forward(_ pass: TrainingPass) {
        let k = spec.fanIn
        forEachBand(pass.batch) { first, images in
            for g in 0..<spec.groups {
                let weights = product.weights.values + g * outChannels * k
                if images == 1 {
                    let direct = inputColumns(pass.input, first, g)
                    if direct == nil { unroll(pass.input, first, images, g) }
                    Kernels.gemm(m: outChannels, n: spatial, k: k, a: weights, b: direct ?? UnsafePointer(columns.pointer),
                                 c: pass.output + (first * spec.groups + g) * outChannels * spatial)
                } else {
                    unroll(pass.input, first, images, g)
                    Kernels.gemm(m: outChannels, n: images * spatial, k: k, a: weights, b: columns.pointer, c: gathered.pointer)
                    move(pass.output, first, images, g, gathering: false)
                }
            }
        }
        product.forward(pass.output, batch: pass.batch)
    }

    func backward(_ pass: TrainingPass) {
        let k = spec.fanIn
        product.backward(output: pass.output, delta: pass.delta, batch: pass.batch)
        let plane = spec.input.height * spec.input.width
        forEachBand(pass.batch) { first, images in
            let n = images * spatial
            for g in 0..<spec.groups {
                let delta: UnsafePointer<Float>
                if images == 1 {
                    delta = UnsafePointer(pass.delta + (first * spec.groups + g) * outChannels * spatial)
                } else {
                    move(pass.delta, first, images, g, gathering: true)
                    delta = UnsafePointer(gathered.pointer)
                }
                let weights = product.weights.values + g * outChannels * k
                if images == 1, let direct = inputColumns(pass.input, first, g) {
                    // The columns are the input, and their delta the input's: products straight in and out.
                    accumulateProduct(m: outChannels, n: k, k: n, a: delta, b: direct, transposeB: true,
                                      c: product.weights.updates.pointer + g * outChannels * k)
                    guard let inputDelta = pass.inputDelta else { continue }
                    accumulateProduct(m: k, n: n, k: outChannels, a: weights, transposeA: true, b: delta,
                                      c: inputDelta + (first * spec.groups + g) * inChannels * plane)
                    continue
                }
                unroll(pass.input, first, images, g)
                accumulateProduct(m: outChannels, n: k, k: n, a: delta, b: columns.pointer, transposeB: true,
                                  c: product.weights.updates.pointer + g * outChannels * k)
                guard let inputDelta = pass.inputDelta else { continue }
                Kernels.gemm(m: k, n: n, k: outChannels, a: weights, transposeA: true, b: delta, c: columns.pointer)
                for j in 0..<images {
                    Kernels.col2im(columns.pointer + j * spatial, rowLength: n, channels: inChannels, height: spec.input.height,
                                   width: spec.input.width, size: spec.size, stride: spec.stride, padding: spec.padding,
                                   outHeight: spec.output.height, outWidth: spec.output.width,
                                   into: inputDelta + ((first + j) * spec.groups + g) * inChannels * plane)
                }
            }
        }
    }

    func update(_ step: UpdateStep) { product.update(step) }
}

extension Kernels {
    /// Darknet's `col2im_cpu`: adds each column value back to the input position it came from.
    /// Rows of the columns are `rowLength` apart. Each kernel position's run of output columns
    /// that lands inside the image is found once, and added along its input row.
    static func col2im(_ columns: UnsafePointer<Float>, rowLength: Int, channels: Int, height: Int, width: Int,
                       size: Int, stride: Int, padding: Int, outHeight: Int, outWidth: Int,
                       into image: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let plane = image + c * height * width
            for ky in 0..<size {
                for kx in 0..<size {
                    let row = columns + ((c * size + ky) * size + kx) * rowLength
                    let dx = kx - padding
                    // Output columns [first, last) land inside the image: 0 ≤ ox·stride + dx < width.
                    let first = min(outWidth, max(0, (-dx + stride - 1) / stride))
                    let last = width - 1 - dx < 0 ? first : max(first, min(outWidth, (width - 1 - dx) / stride + 1))
                    guard last > first else { continue }
                    for oy in 0..<outHeight {
                        let y = oy * stride + ky - padding
                        guard y >= 0 && y < height else { continue }
                        let source = row + oy * outWidth
                        let target = plane + y * width
                        if stride == 1 {
                            let shifted = target + (first + dx) // input column of output column `first`
                            let run = source + first
                            for i in 0..<(last - first) { shifted[i] += run[i] }
                        } else {
                            for ox in first..<last { target[ox * stride + dx] += source[ox] }
                        }
                    }
                }
            }
        }
    }

    /// `col2im` as Darknet writes it, element by element with a bounds test each: the
    /// reference the fast one is tested against.
    static func col2imReference(_ columns: UnsafePointer<Float>, rowLength: Int, channels: Int, height: Int, width: Int,
                                size: Int, stride: Int, padding: Int, outHeight: Int, outWidth: Int,
                                into image: UnsafeMutablePointer<Float>) {
        for row in 0..<(channels * size * size) {
            let (kx, ky, channel) = (row % size, (row / size) % size, row / size / size)
            for oy in 0..<outHeight {
                let y = ky + oy * stride - padding
                guard y >= 0 && y < height else { continue }
                for ox in 0..<outWidth {
                    let x = kx + ox * stride - padding
                    guard x >= 0 && x < width else { continue }
                    image[(channel * height + y) * width + x] += columns[row * rowLength + oy * outWidth + ox]
                }
            }
        }
    }
}
