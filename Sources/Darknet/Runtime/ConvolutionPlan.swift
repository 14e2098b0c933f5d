import CDirectConvolution

/// A convolution bound to its parameters, with its method chosen once: Darknet's
/// `forward_convolutional_layer` — the product of kernels and input (by the method below) per
/// image and group, then batch-norm (or bias), then the activation.
struct ConvolutionPlan: LayerPlan, @unchecked Sendable {
    /// How the product of kernels and input is computed.
    enum Method: String {
        /// One filter per input channel (MobileNet's depthwise 3×3): a direct loop beats a
        /// 1-row GEMM per channel.
        case depthwise
        /// A 1×1, stride-1, unpadded convolution multiplies the input itself: no im2col.
        case pointwise = "1x1"
        /// im2col and one sgemm per group, `bandRows` output rows at a time.
        case im2col
        /// Each core unrolls and multiplies its own bands of `coreBandRows` rows (see `choose`).
        case coreBands = "im2col per core"
        /// Winograd's F(2×2, 3×3) with kernels the network transformed (see `WinogradKernels`).
        case winograd
        /// Tiles multiplied straight from bands of the input, batch-norm and activation fused
        /// (see `DirectConvolution`), where the processor runs that kernel.
        case direct
    }

    let spec: Convolutional
    let method: Method
    let biases: UnsafeMutablePointer<Float>
    /// Batch-norm scales, rolling mean and variance (nil without batch-norm).
    let scales: UnsafeMutablePointer<Float>?
    let mean: UnsafeMutablePointer<Float>?
    let variance: UnsafeMutablePointer<Float>?
    let weights: UnsafeMutablePointer<Float>
    /// The kernels transformed for Winograd's F(2×2, 3×3), when the network chose it for this layer.
    let winogradKernels: UnsafePointer<Float>?
    /// Output rows unrolled at a time (`im2col`), by a core at a time (`coreBands`) or copied
    /// to a core's workspace at a time (`direct`).
    let bandRows: Int
    /// Whose batch-norm formula.
    let dialect: Dialect

    /// - Parameter direct: whether to use `DirectConvolution` where it applies.
    init(_ spec: Convolutional, parameters: BoundParameters, dialect: Dialect, winogradKernels: UnsafePointer<Float>? = nil, direct: Bool) {
        self.spec = spec
        self.dialect = dialect
        self.winogradKernels = winogradKernels
        biases = parameters.biases
        (scales, mean, variance) = (parameters[.normScale], parameters[.rollingMean], parameters[.rollingVariance])
        weights = parameters[.weights]!
        method = Self.choose(spec, winograd: winogradKernels != nil, direct: direct)
        switch method {
        case .coreBands: bandRows = Self.coreBandRows(spec)
        case .direct: bandRows = DirectConvolution.bandRows(spec)
        case .depthwise, .pointwise, .im2col, .winograd: bandRows = Self.bandRows(spec)
        }
    }

    var methodName: String { method.rawValue }

    /// The method for `spec`: Winograd where the network transformed kernels for it.
    static func choose(_ spec: Convolutional, winograd: Bool, direct: Bool) -> Method {
        let needsColumns = !(spec.size == 1 && spec.stride == 1 && spec.strideY == 1 && spec.padding == 0)
        if spec.groups == spec.input.channels && spec.groups == spec.filters && spec.groups > 1 { return .depthwise }
        if winograd { return .winograd }
        if !needsColumns { return .pointwise }
        // Few input channels on a large output: each float of columns serves only `filters`
        // multiply-adds, and in `bandRows` bands (up to 8 MiB) the columns would go through
        // memory between im2col and sgemm. With many more channels (k = 1152) each band's sgemm
        // would repack too many kernels for its few columns.
        if spec.groups == 1 && spec.fanIn <= 600 && spec.output.height >= 4 * Parallel.cores
            && spec.output.height * spec.output.width >= 1 << 12 {
            // The direct kernel (stride 1) beats im2col there; with more channels OpenBLAS's
            // GEMM is faster.
            return direct && DirectConvolution.applies(to: spec) ? .direct : .coreBands
        }
        return .im2col
    }

    /// The most im2col floats one band of output rows may take (8 MiB): a large network's
    /// unrolled input would otherwise need more than all its activations together.
    static let columnBudget = 1 << 21

    /// `im2col`: output rows unrolled at a time, as many as fit the budget, at least one.
    static func bandRows(_ spec: Convolutional) -> Int {
        let perRow = spec.fanIn * spec.output.width
        return max(1, min(spec.output.height, columnBudget / max(perRow, 1)))
    }

    /// `coreBands`: output rows a core unrolls and multiplies at a time, as many as fit in
    /// 64 KiB of columns, so that a band is still in cache when it is multiplied; at least one.
    static func coreBandRows(_ spec: Convolutional) -> Int { max(1, (1 << 14) / (spec.fanIn * spec.output.width)) }

    /// Images a batch runs through one GEMM. A small output makes a narrow GEMM, which OpenBLAS
    /// runs below its best and for which it reads the kernels once per image. So at batch > 1
    /// the im2col columns (or Winograd's transformed tiles) of outputs under 1024 values a plane
    /// are put side by side, as many images as fit `columnBudget`·batch floats of columns and
    /// products (the activations grow with the batch too). A 1×1 convolution, which needs no
    /// columns, would pay more for copying its input in than it gains.
    func imagesPerGEMM(batch: Int) -> Int {
        let spatial = spec.output.height * spec.output.width
        guard batch > 1, method == .im2col || method == .winograd, spec.groups == 1, spatial < 1024 else { return 1 }
        let perImage = method == .winograd ? Winograd.workspaceFloats(spec, images: 1) : (spec.fanIn + spec.filters) * spatial
        return min(batch, max(1, Self.columnBudget * batch / perImage))
    }

    /// One band of one image and group, one band on each core, Winograd's tiles, or several
    /// images' columns and product.
    func workspaceFloats(batch: Int) -> Int {
        let images = imagesPerGEMM(batch: batch)
        if images > 1 && method == .winograd { return Winograd.workspaceFloats(spec, images: images) }
        if images > 1 { return (spec.fanIn + spec.filters) * spec.output.height * spec.output.width * images }
        switch method {
        case .depthwise, .pointwise: return 0
        case .winograd: return Winograd.workspaceFloats(spec)
        case .im2col: return spec.fanIn * spec.output.width * bandRows
        case .coreBands: return Parallel.cores * spec.fanIn * spec.output.width * bandRows
        case .direct: return Parallel.cores * DirectConvolution.workspaceFloats(spec, bandRows: bandRows)
        }
    }

    func runsWholeBatch(_ batch: Int) -> Bool { imagesPerGEMM(batch: batch) > 1 }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        forward(pass.input, pass.output, batch: pass.batch, workspace: pass.workspace, calibrate: pass.calibrate)
    }

    var floatsPerImage: Int { spec.output.count }

    /// Called with the raw convolution output (before batch-norm) of a whole batch; `init`
    /// uses it to set batch-norm statistics from what the layer really produces.
    typealias Calibrator = (_ convolution: ConvolutionPlan, _ raw: UnsafeMutablePointer<Float>, _ batch: Int) -> Void

    func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int,
                 workspace: UnsafeMutablePointer<Float>, calibrate: Calibrator? = nil) {
        // The direct kernel applies batch-norm and a cheap activation itself, unless `calibrate`
        // needs the raw product.
        let fused = method == .direct && calibrate == nil ? DirectConvolution.fusedActivation(spec.activation) : nil
        let fold = imagesPerGEMM(batch: batch)
        for first in stride(from: 0, to: batch, by: fold) {
            let (source, target) = (input + first * spec.input.count, output + first * floatsPerImage)
            let images = min(fold, batch - first)
            if images > 1 && method == .winograd {
                Winograd.convolve(spec, kernels: winogradKernels!, images: images, source, target, workspace: workspace)
            } else if images > 1 {
                multiply(images: images, source, target, workspace: workspace)
            } else {
                multiply(source, target, workspace: workspace, fusing: fused)
            }
        }
        calibrate?(self, output, batch)
        if fused != nil { return normalizeChannels(output, batch: batch) }
        let spatial = spec.output.height * spec.output.width
        Parallel.forEach(batch * spec.filters, work: batch * floatsPerImage) { planes in
            for plane in planes {
                let (multiplier, shift) = normalization(plane % spec.filters)
                Kernels.affineActivate(output + plane * spatial, count: spatial, multiplier: multiplier, shift: shift,
                                       activation: spec.activation)
            }
        }
        normalizeChannels(output, batch: batch)
    }

    private func normalizeChannels(_ output: UnsafeMutablePointer<Float>, batch: Int) {
        let spatial = spec.output.height * spec.output.width
        if let normalization = spec.channelNormalization {
            for image in 0..<batch {
                Kernels.normalizeChannels(output + image * floatsPerImage, channels: spec.filters, spatial: spatial, normalization)
            }
        }
    }

    /// Filter `c`'s batch-norm as y = x·multiplier + shift; without batch-norm x + bias.
    private func normalization(_ c: Int) -> (multiplier: Float, shift: Float) {
        guard let mean, let variance else { return (1, biases[c]) }
        return Kernels.normalization(scale: scales?[c] ?? 1, mean: mean[c], variance: variance[c], bias: biases[c], dialect: dialect)
    }

    /// One image with `DirectConvolution`: batch-norm and `activation` fused, or (nil) the raw product.
    private func direct(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>,
                        activation: direct_activation?) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * spec.filters) { buffer in
            let multipliers = buffer.baseAddress!, shifts = multipliers + spec.filters
            for c in 0..<spec.filters {
                (multipliers[c], shifts[c]) = activation == nil ? (1, 0) : normalization(c)
            }
            DirectConvolution.convolve(spec, input, weights: weights, multipliers: multipliers, shifts: shifts,
                                       activation: activation ?? direct_linear, output, workspace: workspace, bandRows: bandRows)
        }
    }

    /// One image by the chosen method; `direct` applies batch-norm and `activation` too when given.
    private func multiply(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>,
                          fusing activation: direct_activation?) {
        switch method {
        case .depthwise: depthwise(input, output)
        case .winograd: Winograd.convolve(spec, kernels: winogradKernels!, input, output, workspace: workspace)
        case .coreBands: multiplyInCoreBands(input, output, workspace: workspace)
        case .pointwise, .im2col: multiplyByGroup(input, output, workspace: workspace)
        case .direct: direct(input, output, workspace: workspace, activation: activation)
        }
    }

    /// im2col (split over the cores) and one sgemm per group, a band of output rows at a time
    /// so that the workspace stays within `columnBudget` floats; a 1×1 multiplies the input itself.
    private func multiplyByGroup(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let groups = spec.groups
        let inChannels = spec.input.channels / groups
        let outChannels = spec.filters / groups
        let spatial = spec.output.height * spec.output.width
        let plane = spec.input.height * spec.input.width
        let rowsPerChannel = spec.size * spec.size
        let k = inChannels * rowsPerChannel
        let band = bandRows
        for group in 0..<groups {
            let source = input + group * inChannels * plane
            let target = output + group * outChannels * spatial
            guard method == .im2col else {
                Kernels.gemm(m: outChannels, n: spatial, k: k, a: weights + group * outChannels * k, b: source, c: target)
                continue
            }
            for first in stride(from: 0, to: spec.output.height, by: band) {
                let rows = first..<min(first + band, spec.output.height)
                let columns = rows.count * spec.output.width
                unroll(source, channels: inChannels, rows: rows, into: workspace, rowLength: columns)
                Kernels.gemm(m: outChannels, n: columns, k: k, a: weights + group * outChannels * k, b: workspace,
                             c: target + first * spec.output.width, ldc: spatial)
            }
        }
    }

    /// `coreBands`: each core takes its share of the output rows and unrolls and multiplies
    /// them `bandRows` at a time with a single-threaded sgemm, so that a band's columns stay in
    /// the core's own cache from im2col to sgemm. Threaded sgemm over larger bands leaves them to go
    /// through memory in between.
    private func multiplyInCoreBands(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                     workspace: UnsafeMutablePointer<Float>) {
        let (outHeight, outWidth) = (spec.output.height, spec.output.width)
        let k = spec.input.channels * spec.size * spec.size
        let rowsPerBand = bandRows
        let bands = (outHeight + rowsPerBand - 1) / rowsPerBand
        BLAS.singleThreaded {
            Parallel.forEach(bands, work: spec.output.count * k) { core, coreBands in
                let columns = workspace + core * k * rowsPerBand * outWidth
                for band in coreBands {
                    let rows = (band * rowsPerBand)..<min((band + 1) * rowsPerBand, outHeight)
                    Kernels.im2col(input, channels: spec.input.channels, height: spec.input.height, width: spec.input.width,
                                   size: spec.size, stride: spec.stride, strideY: spec.strideY, padding: spec.padding, dilation: spec.dilation,
                                   rows: rows, outWidth: outWidth, into: columns, rowLength: rows.count * outWidth)
                    Kernels.gemm(m: spec.filters, n: rows.count * outWidth, k: k, a: weights, b: columns,
                                 c: output + rows.lowerBound * outWidth, ldc: outHeight * outWidth)
                }
            }
        }
    }

    /// im2col of output rows `rows` from `channels` input channels, the channels split over the cores.
    private func unroll(_ source: UnsafePointer<Float>, channels: Int, rows: Range<Int>, into columns: UnsafeMutablePointer<Float>,
                        rowLength: Int) {
        let plane = spec.input.height * spec.input.width
        let rowsPerChannel = spec.size * spec.size
        Parallel.forEach(channels, work: channels * rowsPerChannel * rows.count * spec.output.width) { part in
            Kernels.im2col(source + part.lowerBound * plane, channels: part.count,
                           height: spec.input.height, width: spec.input.width, size: spec.size, stride: spec.stride, strideY: spec.strideY,
                           padding: spec.padding, dilation: spec.dilation, rows: rows, outWidth: spec.output.width,
                           into: columns + part.lowerBound * rowsPerChannel * rowLength, rowLength: rowLength)
        }
    }

    /// Several images through one GEMM (see `imagesPerGEMM`): their im2col columns side by side,
    /// a k × images·spatial matrix, then each row of the product copied back to its image.
    private func multiply(images: Int, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                          workspace: UnsafeMutablePointer<Float>) {
        let spatial = spec.output.height * spec.output.width
        let k = spec.input.channels * spec.size * spec.size
        let n = images * spatial
        let columns = workspace, product = workspace + k * n
        for image in 0..<images {
            unroll(input + image * spec.input.count, channels: spec.input.channels, rows: 0..<spec.output.height,
                   into: columns + image * spatial, rowLength: n)
        }
        Kernels.gemm(m: spec.filters, n: n, k: k, a: weights, b: columns, c: product)
        Parallel.forEach(images * spec.filters, work: images * floatsPerImage) { planes in
            for plane in planes {
                let (image, f) = plane.quotientAndRemainder(dividingBy: spec.filters)
                (output + image * floatsPerImage + f * spatial).update(from: product + f * n + image * spatial, count: spatial)
            }
        }
    }

    /// One filter per channel, directly.
    private func depthwise(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let (h, w) = (spec.input.height, spec.input.width)
        let (outH, outW) = (spec.output.height, spec.output.width)
        let (size, stride, strideY, padding, dilation) = (spec.size, spec.stride, spec.strideY, spec.padding, spec.dilation)
        Parallel.forEach(spec.filters, work: spec.output.count * size * size) { channels in
            for c in channels {
                let source = input + c * h * w, kernel = weights + c * size * size
                let target = output + c * outH * outW
                target.update(repeating: 0, count: outH * outW)
                for ky in 0..<size {
                    for kx in 0..<size {
                        let weight = kernel[ky * size + kx]
                        for oy in 0..<outH {
                            let y = oy * strideY - padding + ky * dilation
                            guard y >= 0 && y < h else { continue }
                            let line = source + y * w, out = target + oy * outW
                            for ox in 0..<outW {
                                let x = ox * stride - padding + kx * dilation
                                if x >= 0 && x < w { out[ox] += weight * line[x] }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Convolutional {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan {
        let convolution = ConvolutionPlan(antialiasing == 0 ? self : convolutionStage, parameters: binding.take(parameterArrays), dialect: binding.dialect,
                                          winogradKernels: binding.winogradKernels, direct: binding.directConvolution)
        return antialiasing == 0 ? convolution : AntialiasedConvolutionPlan(convolution, blur: blurStage)
    }
}
