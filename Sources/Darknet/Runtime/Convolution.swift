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
    /// The kernels transformed for Winograd's F(2×2, 3×3), when the network chose it for this layer.
    let winogradKernels: UnsafePointer<Float>?

    /// Binds `spec` to its arrays, which start at `base` in `Layer.weightArrays` order.
    init(_ spec: Convolutional, parameters base: UnsafeMutablePointer<Float>, winogradKernels: UnsafePointer<Float>? = nil) {
        self.spec = spec
        self.winogradKernels = winogradKernels
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
        if spec.isDepthwise {
            for image in 0..<batch { depthwise(input + image * spec.input.count, output + image * floatsPerImage) }
        } else {
            let fold = winogradKernels == nil ? spec.imagesPerGEMM(batch: batch) : 1
            for first in stride(from: 0, to: batch, by: fold) {
                let (source, target) = (input + first * spec.input.count, output + first * floatsPerImage)
                let images = min(fold, batch - first)
                if images > 1 {
                    multiply(images: images, source, target, workspace: workspace)
                } else {
                    multiply(source, target, workspace: workspace)
                }
            }
        }
        calibrate?(self, output, batch)
        let spatial = spec.output.height * spec.output.width
        Parallel.forEach(batch * spec.filters, work: batch * floatsPerImage) { planes in
            for plane in planes {
                let c = plane % spec.filters
                var (multiplier, shift) = (Float(1), biases[c]) // without batch-norm: x + biases
                if let mean, let variance {
                    (multiplier, shift) = Kernels.normalization(scale: scales?[c] ?? 1, mean: mean[c], variance: variance[c], bias: biases[c])
                }
                Kernels.affineActivate(output + plane * spatial, count: spatial, multiplier: multiplier, shift: shift,
                                       activation: spec.activation)
            }
        }
    }

    /// im2col (split over the cores) and one sgemm per group, a band of output rows at a time
    /// so that the workspace stays within `Convolutional.columnBudget` floats.
    private func multiply(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        if let winogradKernels {
            return Winograd.convolve(spec, kernels: winogradKernels, input, output, workspace: workspace)
        }
        if spec.runsInCoreBands { return multiplyInCoreBands(input, output, workspace: workspace) }
        let groups = spec.groups
        let inChannels = spec.input.channels / groups
        let outChannels = spec.filters / groups
        let spatial = spec.output.height * spec.output.width
        let plane = spec.input.height * spec.input.width
        let rowsPerChannel = spec.size * spec.size
        let k = inChannels * rowsPerChannel
        let band = spec.bandRows
        for group in 0..<groups {
            let source = input + group * inChannels * plane
            let target = output + group * outChannels * spatial
            guard spec.needsColumns else {
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

    /// `runsInCoreBands`: each core takes its share of the output rows and unrolls and multiplies
    /// them `coreBandRows` at a time with a single-threaded sgemm, so that a band's columns stay in
    /// the core's own cache from im2col to sgemm. Threaded sgemm over larger bands leaves them to go
    /// through memory in between.
    private func multiplyInCoreBands(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                     workspace: UnsafeMutablePointer<Float>) {
        let (outHeight, outWidth) = (spec.output.height, spec.output.width)
        let k = spec.input.channels * spec.size * spec.size
        let rowsPerBand = spec.coreBandRows
        let bands = (outHeight + rowsPerBand - 1) / rowsPerBand
        BLAS.singleThreaded {
            Parallel.forEach(bands, work: spec.output.count * k) { core, coreBands in
                let columns = workspace + core * k * rowsPerBand * outWidth
                for band in coreBands {
                    let rows = (band * rowsPerBand)..<min((band + 1) * rowsPerBand, outHeight)
                    Kernels.im2col(input, channels: spec.input.channels, height: spec.input.height, width: spec.input.width,
                                   size: spec.size, stride: spec.stride, padding: spec.padding, dilation: spec.dilation,
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
                           height: spec.input.height, width: spec.input.width, size: spec.size, stride: spec.stride,
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

    /// One filter per channel (MobileNet's depthwise 3×3): a direct loop beats a 1-row GEMM per channel.
    private func depthwise(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let (h, w) = (spec.input.height, spec.input.width)
        let (outH, outW) = (spec.output.height, spec.output.width)
        let (size, stride, padding, dilation) = (spec.size, spec.stride, spec.padding, spec.dilation)
        Parallel.forEach(spec.filters, work: spec.output.count * size * size) { channels in
            for c in channels {
                let source = input + c * h * w, kernel = weights + c * size * size
                let target = output + c * outH * outW
                target.update(repeating: 0, count: outH * outW)
                for ky in 0..<size {
                    for kx in 0..<size {
                        let weight = kernel[ky * size + kx]
                        for oy in 0..<outH {
                            let y = oy * stride - padding + ky * dilation
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
    /// A 1×1, stride-1, unpadded convolution multiplies the input itself: no im2col.
    var needsColumns: Bool { !(size == 1 && stride == 1 && padding == 0) }

    /// One filter per input channel: run directly, without im2col.
    var isDepthwise: Bool { groups == input.channels && groups == filters && groups > 1 }

    /// The most im2col floats one band of output rows may take (8 MiB): yolov3's largest
    /// unrolled input would otherwise need 100 MB, more than all its activations together.
    static let columnBudget = 1 << 21

    /// Output rows unrolled at a time: as many as fit the budget, at least one.
    var bandRows: Int {
        let perRow = input.channels / groups * size * size * output.width
        return max(1, min(output.height, Self.columnBudget / max(perRow, 1)))
    }

    /// Few input channels on a large output: each float of columns serves only `filters`
    /// multiply-adds, and in `bandRows` bands (up to 8 MiB) the columns go through memory between
    /// im2col and sgemm. In 7 and 4 alternating rounds: yolov3-tiny's first three layers (k = 27,
    /// 144, 288) 3.0 → 1.4, 3.1 → 1.6, 1.9 → 1.7 ms; yolov3's first four 3×3 layers 3.9 → 1.9,
    /// 8.1 → 6.6, 6.4 → 5.6, 7.0 → 5.8 ms. With k = 1152 (yolov3's layer 12) each band's sgemm
    /// repacks too many kernels for its few columns: 2 % slower.
    var runsInCoreBands: Bool {
        groups == 1 && needsColumns && input.channels * size * size <= 600
            && output.height >= 4 * Parallel.cores && output.height * output.width >= 1 << 12
    }

    /// Output rows a core unrolls and multiplies at a time (`runsInCoreBands`): as many as fit in
    /// 64 KiB of columns, at least one. 16 KiB and 256 KiB were as fast or slower.
    var coreBandRows: Int { max(1, (1 << 14) / (input.channels * size * size * output.width)) }

    /// im2col floats for one band of one image and group, or one band on each core.
    var columnFloats: Int {
        if runsInCoreBands { return Parallel.cores * input.channels * size * size * output.width * coreBandRows }
        return needsColumns && !isDepthwise ? input.channels / groups * size * size * output.width * bandRows : 0
    }

    /// Images a batch runs through one GEMM. A small output makes a narrow GEMM, which OpenBLAS
    /// runs below its best (filters 1024 × k 4608, measured: 289 GFLOP/s on 169 columns, 358 on
    /// 676, 405 on 1352) and for which it reads the kernels once per image. So at batch > 1 the
    /// im2col columns of outputs under 1024 values a plane are put side by side, as many images as
    /// fit `columnBudget`·batch floats of columns and products (the activations grow with the
    /// batch too). yolov3-tiny at batch 4: its 13×13 3×3 layers 26.0 → 20.8, 7.0 → 5.9 ms. A 1×1
    /// convolution, which needs no columns, would pay for copying its input in: its layers 13,
    /// 15 and 22 went 1.44 → 1.55, 0.77 → 0.86, 1.34 → 1.58 ms.
    func imagesPerGEMM(batch: Int) -> Int {
        let spatial = output.height * output.width
        guard batch > 1, groups == 1, needsColumns, spatial < 1024 else { return 1 }
        let perImage = (input.channels * size * size + filters) * spatial
        return min(batch, max(1, Self.columnBudget * batch / perImage))
    }

    /// Workspace floats for a batch run without Winograd: one band, or several images' columns and product.
    func columnFloats(batch: Int) -> Int {
        let images = imagesPerGEMM(batch: batch)
        return images > 1 ? (input.channels * size * size + filters) * output.height * output.width * images : columnFloats
    }
}
