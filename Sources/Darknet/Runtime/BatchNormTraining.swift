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
    func forward(_ values: UnsafeMutablePointer<Float>, batch: Int, biases: UnsafePointer<Float>) {
        let count = batch * channels * spatial
        if x.count != count { (x, xNorm) = (TrainingBuffer(count), TrainingBuffer(count)) }
        x.pointer.update(from: values, count: count)
        let (mean, variance) = (mean.pointer, variance.pointer)
        for c in 0..<channels {
            var sum: Float = 0
            forEach(c, batch) { sum += values[$0] }
            mean[c] = sum * (1 / Float(batch * spatial))
            var squares: Float = 0
            forEach(c, batch) { squares += Float(pow(Double(values[$0] - mean[c]), 2)) }
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

    /// Turns `delta` (of the layer's output, past the activation) into the delta of the
    /// un-normalised values, accumulating the bias and scale gradients.
    func backward(_ delta: UnsafeMutablePointer<Float>, batch: Int, biasUpdates: UnsafeMutablePointer<Float>) {
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
