import COpenBLAS
import Glibc

/// Batch-norm in training, as convolutional and connected layers run it (Darknet's
/// `forward_batchnorm_layer` with `net.train` and `backward_batchnorm_layer`). The forward pass
/// normalises by the batch's mean and its variance over N − 1 with √var + 1e-6; the backward
/// pass, Darknet's, uses √(var + 1e-5) and N: its quirk, kept. Over N the variance's gradient
/// leaves a component along the layer's input of about scale²·(its share of the loss) whatever
/// N is, so the layers below get a gradient off the true one along their own weights.
final class BatchNormTraining {
    let channels: Int
    let spatial: Int
    let rollingMean: UnsafeMutablePointer<Float>
    let rollingVariance: UnsafeMutablePointer<Float>
    let scales: TrainedArray
    let mean: TrainingBuffer
    let variance: TrainingBuffer
    /// The count the variance's gradient divides by: N as Darknet (true), or the forward's
    /// N − 1, which makes the backward pass the true gradient (false; for tests).
    var darknetVarianceGradient = true
    /// The input and its normalised values, kept for the backward pass.
    private var x = TrainingBuffer(0)
    private var xNorm = TrainingBuffer(0)

    init(channels: Int, spatial: Int, scales: UnsafeMutablePointer<Float>, rollingMean: UnsafeMutablePointer<Float>,
         rollingVariance: UnsafeMutablePointer<Float>) {
        self.channels = channels
        self.spatial = spatial
        self.rollingMean = rollingMean
        self.rollingVariance = rollingVariance
        self.scales = TrainedArray(scales, count: channels, decays: false)
        mean = TrainingBuffer(channels)
        variance = TrainingBuffer(channels)
    }

    /// Normalises `values` (batch × channels × spatial) in place and applies scales and `biases`.
    /// Channels run in parallel; sums run in 8 lanes (an order of their own, as Darknet's
    /// vectorised build has).
    func forward(_ values: UnsafeMutablePointer<Float>, batch: Int, biases: UnsafePointer<Float>) {
        let count = batch * channels * spatial
        if x.count != count { (x, xNorm) = (TrainingBuffer(count), TrainingBuffer(count)) }
        let (x, xNorm, mean, variance) = (x.pointer, xNorm.pointer, mean.pointer, variance.pointer)
        let scales = scales.values
        let (rollingMean, rollingVariance) = (rollingMean, rollingVariance)
        Parallel.forEach(channels, work: 4 * count) { range in
            for c in range {
                let m = sum(c, batch) { load(values, $0) } _: { values[$0] } * (1 / Float(batch * spatial))
                let squares = sum(c, batch) { let d = load(values, $0) - m; return d * d } _: { let d = values[$0] - m; return d * d }
                mean[c] = m
                variance[c] = squares * (1 / (Float(batch * spatial) - 1))
                rollingMean[c] = rollingMean[c] * 0.99 + 0.01 * m
                rollingVariance[c] = rollingVariance[c] * 0.99 + 0.01 * variance[c]
                let divisor = sqrtf(variance[c]) + 0.000001
                let (scale, bias) = (scales[c], biases[c])
                forEach(c, batch) {
                    x[$0] = values[$0]
                    let normal = (values[$0] - m) / divisor
                    xNorm[$0] = normal
                    values[$0] = normal * scale + bias
                }
            }
        }
    }

    /// Turns `delta` (of the layer's output, past the activation) into the delta of the
    /// un-normalised values, accumulating the bias and scale gradients. Channels in parallel.
    func backward(_ delta: UnsafeMutablePointer<Float>, batch: Int, biasUpdates: UnsafeMutablePointer<Float>) {
        let (x, xNorm, mean, variance) = (x.pointer, xNorm.pointer, mean.pointer, variance.pointer)
        let n = Float(spatial * batch)
        let varianceCount = darknetVarianceGradient ? n : n - 1
        let (scales, scaleUpdates) = (scales.values, scales.updates.pointer)
        Parallel.forEach(channels, work: 4 * batch * channels * spatial) { range in
            for c in range {
                let m = mean[c]
                let bias = sum(c, batch) { load(delta, $0) } _: { delta[$0] }
                let scale = sum(c, batch) { load(delta, $0) * load(xNorm, $0) } _: { delta[$0] * xNorm[$0] }
                let centred = sum(c, batch) { load(delta, $0) * (load(x, $0) - m) } _: { delta[$0] * (x[$0] - m) }
                biasUpdates[c] += bias
                scaleUpdates[c] += scale
                let s = scales[c]
                let root = sqrtf(variance[c] + 0.00001)
                let meanDelta = s * bias * (-1 / root)
                let varianceDelta = s * centred * (-0.5 * powf(variance[c] + 0.00001, -3.0 / 2.0))
                let (deltaScale, centredScale, shift) = (s / root, varianceDelta * 2 / varianceCount, meanDelta / n)
                forEach(c, batch) { delta[$0] = delta[$0] * deltaScale + (x[$0] - m) * centredScale + shift }
            }
        }
    }

    /// `forward` as Darknet writes it, one channel and one value at a time in order: the
    /// reference the parallel, 8-lane one is tested against.
    func forwardReference(_ values: UnsafeMutablePointer<Float>, batch: Int, biases: UnsafePointer<Float>) {
        let count = batch * channels * spatial
        if x.count != count { (x, xNorm) = (TrainingBuffer(count), TrainingBuffer(count)) }
        x.pointer.update(from: values, count: count)
        let (mean, variance) = (mean.pointer, variance.pointer)
        for c in 0..<channels {
            var sum: Float = 0
            forEach(c, batch) { sum += values[$0] }
            mean[c] = sum * (1 / Float(batch * spatial))
            var squares: Float = 0
            forEach(c, batch) { squares += (values[$0] - mean[c]) * (values[$0] - mean[c]) }
            variance[c] = squares * (1 / (Float(batch * spatial) - 1))
            rollingMean[c] = rollingMean[c] * 0.99 + 0.01 * mean[c]
            rollingVariance[c] = rollingVariance[c] * 0.99 + 0.01 * variance[c]
            let divisor = sqrtf(variance[c]) + 0.000001
            forEach(c, batch) { values[$0] = (values[$0] - mean[c]) / divisor }
        }
        xNorm.pointer.update(from: values, count: count)
        for c in 0..<channels {
            forEach(c, batch) { values[$0] = values[$0] * scales.values[c] + biases[c] }
        }
    }

    /// `backward` as Darknet writes it (`backward_scale_cpu`, `mean_delta_cpu`,
    /// `variance_delta_cpu`, `normalize_delta_cpu` in turn): the reference of the fast one.
    func backwardReference(_ delta: UnsafeMutablePointer<Float>, batch: Int, biasUpdates: UnsafeMutablePointer<Float>) {
        let (x, xNorm, mean, variance) = (x.pointer, xNorm.pointer, mean.pointer, variance.pointer)
        let n = Float(spatial * batch)
        let varianceCount = darknetVarianceGradient ? n : n - 1
        for c in 0..<channels {
            var (bias, scale): (Float, Float) = (0, 0)
            forEach(c, batch) { bias += delta[$0]; scale += delta[$0] * xNorm[$0] }
            biasUpdates[c] += bias
            scales.updates.pointer[c] += scale
            forEach(c, batch) { delta[$0] *= scales.values[c] }
            let root = sqrtf(variance[c] + 0.00001)
            var meanDelta: Float = 0
            forEach(c, batch) { meanDelta += delta[$0] }
            meanDelta *= -1 / root
            var varianceDelta: Float = 0
            forEach(c, batch) { varianceDelta += delta[$0] * (x[$0] - mean[c]) }
            varianceDelta *= -0.5 * powf(variance[c] + 0.00001, -3.0 / 2.0)
            forEach(c, batch) {
                delta[$0] = delta[$0] * 1 / root + varianceDelta * 2 * (x[$0] - mean[c]) / varianceCount + meanDelta / n
            }
        }
    }

    /// Calls `body` with the index of every value of channel `c` in the batch.
    @inline(__always)
    private func forEach(_ c: Int, _ batch: Int, _ body: (Int) -> Void) {
        for b in 0..<batch {
            let base = (b * channels + c) * spatial
            for i in 0..<spatial { body(base + i) }
        }
    }

    /// The sum over channel `c`'s values in the batch of `lanes` at 8 indices from each one
    /// given, or of `single` at one index where fewer than 8 are left in a plane.
    @inline(__always)
    private func sum(_ c: Int, _ batch: Int, _ lanes: (Int) -> SIMD8<Float>, _ single: (Int) -> Float) -> Float {
        var (vector, rest) = (SIMD8<Float>(), Float(0))
        for b in 0..<batch {
            let base = (b * channels + c) * spatial
            var i = 0
            while i + 8 <= spatial { vector += lanes(base + i); i += 8 }
            while i < spatial { rest += single(base + i); i += 1 }
        }
        return vector.sum() + rest
    }
}

@inline(__always)
private func load(_ values: UnsafePointer<Float>, _ index: Int) -> SIMD8<Float> {
    UnsafeRawPointer(values + index).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func load(_ values: UnsafeMutablePointer<Float>, _ index: Int) -> SIMD8<Float> {
    load(UnsafePointer(values), index)
}

/// C (m×n) += op(A) · op(B), row-major, with A m×k and B k×n after their transposes.
func accumulateProduct(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, transposeA: Bool = false,
                       b: UnsafePointer<Float>, transposeB: Bool = false, c: UnsafeMutablePointer<Float>) {
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), 1, c, Int32(n))
}

/// Darknet's `backward_bias`: each channel's sum of `delta` over the batch and its plane.
func accumulateBiasGradient(_ updates: UnsafeMutablePointer<Float>, _ delta: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int) {
    for b in 0..<batch {
        for c in 0..<channels {
            var sum: Float = 0
            let plane = delta + (b * channels + c) * spatial
            for i in 0..<spatial { sum += plane[i] }
            updates[c] += sum
        }
    }
}
