import COpenBLAS

/// The fast kernels: im2col + OpenBLAS sgemm for convolutions, and the per-channel passes
/// around them. `KernelTests` compares each with a naive twin written from the definition.
enum Kernels {
    /// Unrolls the receptive fields of output rows `rows` of `input` (c×h×w) into `columns`, a
    /// (c·size·size) × (rows.count·outW) matrix, zero where the window leaves the image.
    static func im2col(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                       size: Int, stride: Int, padding: Int, dilation: Int,
                       rows: Range<Int>, outWidth: Int, into columns: UnsafeMutablePointer<Float>) {
        var row = 0
        for c in 0..<channels {
            let plane = input + c * height * width
            for ky in 0..<size {
                for kx in 0..<size {
                    let out = columns + row * rows.count * outWidth
                    let dy = ky * dilation - padding, dx = kx * dilation - padding
                    for oy in rows {
                        let y = oy * stride + dy
                        let line = out + (oy - rows.lowerBound) * outWidth
                        guard y >= 0 && y < height else {
                            line.update(repeating: 0, count: outWidth)
                            continue
                        }
                        let source = plane + y * width
                        if stride == 1 {
                            // The window's columns form one contiguous run, zero-padded at the ends.
                            let first = max(0, -dx), last = min(outWidth, width - dx)
                            if first > 0 { line.update(repeating: 0, count: min(first, outWidth)) }
                            if last > first { (line + first).update(from: source + first + dx, count: last - first) }
                            if last < outWidth { (line + max(last, 0)).update(repeating: 0, count: outWidth - max(last, 0)) }
                        } else {
                            // Columns [first, last) read inside the image: x = ox·stride + dx.
                            let first = min(outWidth, max(0, (-dx + stride - 1) / stride))
                            let last = max(first, min(outWidth, (width - 1 - dx) / stride + 1))
                            if first > 0 { line.update(repeating: 0, count: first) }
                            for ox in first..<last { line[ox] = source[ox * stride + dx] }
                            if last < outWidth { (line + last).update(repeating: 0, count: outWidth - last) }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// C (m×n, rows `ldc` apart) = A (m×k) · B (k×n), row-major; `transposeB` reads B as its
    /// transpose (n×k).
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, transposeB: Bool = false,
                     c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(transposeB ? k : n), 0, c, Int32(ldc ?? n))
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
        default:
            for i in 0..<count { values[i] = activation(values[i] * multiplier + shift) }
        }
    }

    /// Darknet's inference batch-norm of one channel, scale·(x − mean)/(√variance + 1e-6) + bias,
    /// as one multiply-add: x·multiplier + shift.
    static func normalization(scale: Float, mean: Float, variance: Float, bias: Float) -> (multiplier: Float, shift: Float) {
        let multiplier = scale / (variance.squareRoot() + 0.000001)
        return (multiplier, bias - mean * multiplier)
    }

    /// Darknet's inference batch-norm per channel: `scale·(x − mean)/(sqrt(var) + 1e-6) + bias`.
    static func batchNorm(_ values: UnsafeMutablePointer<Float>, channels: Int, spatial: Int,
                          scales: UnsafePointer<Float>?, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
                          biases: UnsafePointer<Float>?) {
        for c in 0..<channels {
            let (multiplier, shift) = normalization(scale: scales?[c] ?? 1, mean: mean[c], variance: variance[c], bias: biases?[c] ?? 0)
            let plane = values + c * spatial
            for i in 0..<spatial { plane[i] = plane[i] * multiplier + shift }
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
            let e = Foundation.exp(input[i * stride] / temperature - largest / temperature)
            sum += e
            output[i * stride] = e
        }
        for i in 0..<n { output[i * stride] /= sum }
    }
}

import Foundation
