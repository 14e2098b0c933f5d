import COpenBLAS
import Glibc

/// The fast kernels: im2col + OpenBLAS sgemm for convolutions, and the per-channel passes
/// around them. `KernelTests` compares each with a naive twin written from the definition.
enum Kernels {
    /// Unrolls the receptive fields of output rows `rows` of `input` (c×h×w) into `columns`, a
    /// (c·size·size) × (rows.count·outW) matrix whose rows start `rowLength` floats apart, zero
    /// where the window leaves the image.
    /// Output rows are `strideY` input rows apart. Each row of it is, along one output row, a run
    /// of input values `stride` apart: with
    /// stride 1 a contiguous copy; otherwise the input row is first split by x mod stride, which
    /// makes every run contiguous too, where a strided gather would not be.
    static func im2col(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                       size: Int, stride: Int, strideY: Int, padding: Int, dilation: Int,
                       rows: Range<Int>, outWidth: Int, into columns: UnsafeMutablePointer<Float>, rowLength: Int) {
        let phaseLength = (width + stride - 1) / stride
        withUnsafeTemporaryAllocation(of: Float.self, capacity: stride > 1 ? stride * phaseLength : 1) { scratch in
            let phases = scratch.baseAddress!
            for c in 0..<channels {
                let plane = input + c * height * width
                for ky in 0..<size {
                    let kernelRow = columns + (c * size + ky) * size * rowLength
                    for oy in rows {
                        let y = oy * strideY + ky * dilation - padding
                        let offset = (oy - rows.lowerBound) * outWidth
                        guard y >= 0 && y < height else {
                            for kx in 0..<size { (kernelRow + kx * rowLength + offset).update(repeating: 0, count: outWidth) }
                            continue
                        }
                        let source = plane + y * width
                        if stride > 1 { split(source, count: width, stride: stride, into: phases, phaseLength: phaseLength) }
                        for kx in 0..<size {
                            let line = kernelRow + kx * rowLength + offset
                            let dx = kx * dilation - padding
                            // Output columns [first, last) read inside the image: 0 ≤ ox·stride + dx < width.
                            let first = min(outWidth, max(0, (-dx + stride - 1) / stride))
                            let last = width - 1 - dx < 0 ? first : max(first, min(outWidth, (width - 1 - dx) / stride + 1))
                            if first > 0 { line.update(repeating: 0, count: first) }
                            if last > first {
                                let x = first * stride + dx // the input column of output column `first`
                                let run: UnsafePointer<Float> = stride == 1 ? source + x : UnsafePointer(phases) + (x % stride) * phaseLength + x / stride
                                (line + first).update(from: run, count: last - first)
                            }
                            if last < outWidth { (line + last).update(repeating: 0, count: outWidth - last) }
                        }
                    }
                }
            }
        }
    }

    /// phases[p·phaseLength + i] = row[i·stride + p]: a row split by x mod stride.
    private static func split(_ row: UnsafePointer<Float>, count: Int, stride: Int,
                              into phases: UnsafeMutablePointer<Float>, phaseLength: Int) {
        if stride == 2 {
            let (even, odd) = (phases, phases + phaseLength)
            for i in 0..<(count / 2) {
                even[i] = row[2 * i]
                odd[i] = row[2 * i + 1]
            }
            if count % 2 == 1 { even[count / 2] = row[count - 1] }
            return
        }
        for p in 0..<min(stride, count) {
            let phase = phases + p * phaseLength
            for i in 0..<((count - p + stride - 1) / stride) { phase[i] = row[i * stride + p] }
        }
    }

    /// C (m×n, rows `ldc` apart) = A (m×k) · B (k×n), row-major; `transposeA` reads A as its
    /// transpose (k×m), `transposeB` B as its transpose (n×k).
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, transposeA: Bool = false, b: UnsafePointer<Float>,
                     transposeB: Bool = false, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), 0, c, Int32(ldc ?? n))
    }

    /// y = activation(x·multiplier + shift) over one plane: batch-norm (or bias) and activation
    /// fused into a single pass, with the cheap activations in loops of their own.
    static func affineActivate(_ values: UnsafeMutablePointer<Float>, count: Int, multiplier: Float, shift: Float,
                               activation: Activation) {
        switch activation {
        case .linear:
            for i in 0..<count { values[i] = values[i] * multiplier + shift }
        case .leaky:
            for i in 0..<count { let y = values[i] * multiplier + shift; values[i] = y > 0 ? y : 0.1 * y }
        case .relu:
            for i in 0..<count { values[i] = max(values[i] * multiplier + shift, 0) }
        case .relu6:
            for i in 0..<count { values[i] = min(max(values[i] * multiplier + shift, 0), 6) }
        case .logistic: // yolo layers, and Darknet's default activation
            mapVectors(values, count: count, multiplier: multiplier, shift: shift) { 1 / (1 + exp(-$0)) }
        case .swish: // YOLOv5's SiLU
            mapVectors(values, count: count, multiplier: multiplier, shift: shift) { $0 / (1 + exp(-$0)) }
        default:
            for i in 0..<count { values[i] = activation(values[i] * multiplier + shift) }
        }
    }

    /// values[i] = f(values[i]·multiplier + shift), eight at a time; the last few go through the
    /// same vector code, so that every element gets the same arithmetic wherever it sits.
    @inline(__always)
    private static func mapVectors(_ values: UnsafeMutablePointer<Float>, count: Int, multiplier: Float, shift: Float,
                                   _ f: (SIMD8<Float>) -> SIMD8<Float>) {
        let raw = UnsafeMutableRawPointer(values)
        var i = 0
        while i + 8 <= count {
            let x = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            raw.storeBytes(of: f(x * multiplier + shift), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        guard i < count else { return }
        var x = SIMD8<Float>()
        for lane in 0..<(count - i) { x[lane] = values[i + lane] }
        let y = f(x * multiplier + shift)
        for lane in 0..<(count - i) { values[i + lane] = y[lane] }
    }

    /// e^x on eight lanes, with SSE arithmetic only (no libm call per element): x = n·ln2 + r,
    /// |r| ≤ ln2/2, e^r from Cephes' expf polynomial, 2^n written into the exponent bits. Within
    /// 2e-7 relative of libm's exp on [−87, 88] (KernelTests); x is clamped to [−87.33, 88.37], so
    /// the result stays finite: logistic(−100) is 3e-39 here, 0 in Darknet. Faster than libm's
    /// exp element by element, which the logistic of every yolo output calls.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // n = 127 at most: 2^128 has no exponent bits, and e^88.37 is still below Float.greatestFiniteMagnitude.
        // (`replacing`: the stdlib's pointwiseMin/Max are calls here, not inlined.)
        let x = x.replacing(with: 88.37, where: x .> 88.37).replacing(with: -87.33, where: x .< -87.33)
        // Adding 1.5·2^23 rounds x·log2(e) to an integer n, which lands in the low mantissa bits.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4 // x − n·ln2, ln2 in two parts
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * r * r + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self) &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }

    /// The inference batch-norm of one channel as one multiply-add, x·multiplier + shift:
    /// Darknet's scale·(x − mean)/(√variance + 1e-6) + bias, AlexeyAB's
    /// scale·(x − mean)/√(variance + 1e-5) + bias (`normalize_cpu`).
    static func normalization(scale: Float, mean: Float, variance: Float, bias: Float, dialect: Dialect) -> (multiplier: Float, shift: Float) {
        let deviation: Float
        switch dialect {
        case .darknet: deviation = variance.squareRoot() + 0.000001
        case .alexeyab: deviation = (variance + 0.00001).squareRoot()
        }
        let multiplier = scale / deviation
        return (multiplier, bias - mean * multiplier)
    }

    /// The inference batch-norm per channel, in the dialect's formula (`normalization`).
    static func batchNorm(_ values: UnsafeMutablePointer<Float>, channels: Int, spatial: Int,
                          scales: UnsafePointer<Float>?, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
                          biases: UnsafePointer<Float>?, dialect: Dialect) {
        for c in 0..<channels {
            let (multiplier, shift) = normalization(scale: scales?[c] ?? 1, mean: mean[c], variance: variance[c], bias: biases?[c] ?? 0,
                                                    dialect: dialect)
            let plane = values + c * spatial
            for i in 0..<spatial { plane[i] = plane[i] * multiplier + shift }
        }
    }

    /// AlexeyAB's `activate_array_normalize_channels(_softmax)` of one image, in place: each
    /// pixel's `channels` values (planes `spatial` apart) divided by 1e-4 plus their sum, of
    /// max(x, 0) or of e^x (less the pixel's largest value for `softmaxMaxValue`).
    static func normalizeChannels(_ values: UnsafeMutablePointer<Float>, channels: Int, spatial: Int,
                                  _ normalization: ChannelNormalization) {
        Parallel.forEach(spatial, work: spatial * channels * 4) { pixels in
            for pixel in pixels {
                let first = values + pixel
                var largest: Float = 0
                if normalization == .softmaxMaxValue {
                    largest = first[0]
                    for k in 1..<channels { largest = max(largest, first[k * spatial]) }
                }
                var sum: Float = 0.0001
                for k in 0..<channels {
                    let x = first[k * spatial]
                    let term = normalization == .normalizeChannels ? max(x, 0) : Glibc.exp(x - largest)
                    first[k * spatial] = term
                    sum += term
                }
                for k in 0..<channels { first[k * spatial] /= sum }
            }
        }
    }

    static func addBias(_ values: UnsafeMutablePointer<Float>, channels: Int, spatial: Int, biases: UnsafePointer<Float>) {
        for c in 0..<channels {
            let plane = values + c * spatial, bias = biases[c]
            for i in 0..<spatial { plane[i] += bias }
        }
    }

    /// Darknet's `softmax`: over `n` values `stride` apart, with a temperature.
    static func softmax(_ input: UnsafePointer<Float>, n: Int, stride: Int, temperature: Float, output: UnsafeMutablePointer<Float>) {
        var largest = -Float.greatestFiniteMagnitude
        for i in 0..<n { largest = max(largest, input[i * stride]) }
        var sum: Float = 0
        for i in 0..<n {
            let e = Glibc.exp(input[i * stride] / temperature - largest / temperature)
            sum += e
            output[i * stride] = e
        }
        for i in 0..<n { output[i * stride] /= sum }
    }
}
