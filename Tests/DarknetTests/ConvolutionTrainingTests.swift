@testable import Darknet
import XCTest

/// The convolution's training kernels against their naive forms: col2im in runs against
/// Darknet's element-by-element loop, products over bands of images against one image at a
/// time, and batch-norm's parallel passes against Darknet's loops.
final class ConvolutionTrainingTests: XCTestCase {
    func testCol2imEqualsTheReference() {
        var random = SplitMix64(state: 3)
        // (channels, height, width, size, stride, padding), strides 1 and 2, padded and not.
        let shapes = [(3, 7, 9, 3, 1, 1), (2, 7, 9, 3, 2, 1), (2, 8, 6, 5, 1, 2), (4, 5, 5, 1, 1, 0), (3, 8, 8, 2, 2, 0),
                      (2, 9, 11, 3, 2, 2), (1, 4, 4, 3, 1, 0), (2, 3, 3, 5, 2, 3)]
        for (channels, height, width, size, stride, padding) in shapes {
            let outHeight = (height + 2 * padding - size) / stride + 1, outWidth = (width + 2 * padding - size) / stride + 1
            let spatial = outHeight * outWidth, rowLength = spatial * 2 + 3 // rows of a band, not of one image
            let columns = (0..<(channels * size * size * rowLength)).map { _ in random.uniform(-1, 1) }
            let start = (0..<(channels * height * width)).map { _ in random.uniform(-1, 1) }
            var (fast, naive) = (start, start)
            columns.withUnsafeBufferPointer { columns in
                fast.withUnsafeMutableBufferPointer {
                    Kernels.col2im(columns.baseAddress! + spatial, rowLength: rowLength, channels: channels, height: height, width: width,
                                   size: size, stride: stride, padding: padding, outHeight: outHeight, outWidth: outWidth, into: $0.baseAddress!)
                }
                naive.withUnsafeMutableBufferPointer {
                    Kernels.col2imReference(columns.baseAddress! + spatial, rowLength: rowLength, channels: channels, height: height,
                                            width: width, size: size, stride: stride, padding: padding, outHeight: outHeight,
                                            outWidth: outWidth, into: $0.baseAddress!)
                }
            }
            let shape = "\(channels)×\(height)×\(width) size \(size) stride \(stride) padding \(padding)"
            XCTAssertEqual(fast, naive, shape)
            XCTAssertNotEqual(fast, start, shape) // the columns were added
        }
    }

    /// A batch of 5 through a 3×3 stride-2 convolution with batch-norm, a 3×3 one without and a
    /// 1×1 one (whose columns are its input when one image is taken at a time), in bands of 1, 2
    /// and 5 images: the same outputs, parameter gradients and input deltas.
    func testBandsEqualOneImageAtATime() throws {
        let text = """
        [net]
        width=9
        height=7
        channels=3

        [convolutional]
        batch_normalize=1
        filters=4
        size=3
        stride=2
        pad=1
        activation=leaky

        [convolutional]
        filters=6
        size=3
        stride=1
        pad=1
        activation=swish

        [convolutional]
        batch_normalize=1
        filters=5
        size=1
        stride=1
        activation=leaky
        """
        let definition = try NetworkDefinition(cfg: CfgFile(text: text, path: "bands.cfg"), options: DefinitionOptions(dialect: .darknet))
        let batch = 5
        var random = SplitMix64(state: 9)
        for layer in 0..<3 {
            let inputCount = batch * definition.layers[layer].input.count, outputCount = definition.layers[layer].output.count
            let input = (0..<inputCount).map { _ in random.uniform(-1, 1) }
            let upstream = (0..<(batch * outputCount)).map { _ in random.uniform(-1, 1) }
            var results: [[Float]] = []
            for band in [1, 2, 5] {
                let network = try Network(definition: definition, weights: RandomWeights.make(for: definition, seed: 4), winograd: false)
                let trainer = ConvolutionTrainer(network.plans[layer] as! ConvolutionPlan, band: band)
                var (output, delta) = ([Float](repeating: 0, count: batch * outputCount), upstream)
                var inputDelta = [Float](repeating: 0.5, count: inputCount)
                input.withUnsafeBufferPointer { input in
                    output.withUnsafeMutableBufferPointer { output in
                        delta.withUnsafeMutableBufferPointer { delta in
                            inputDelta.withUnsafeMutableBufferPointer { inputDelta in
                                let (outputs, deltas) = (output.baseAddress!, delta.baseAddress!)
                                let pass = TrainingPass(batch: batch, input: input.baseAddress!, output: outputs, delta: deltas,
                                                        inputDelta: inputDelta.baseAddress!, outputCount: outputCount,
                                                        truth: input.baseAddress!, truths: 0, networkInput: definition.input,
                                                        outputs: { _ in outputs }, deltas: { _ in deltas })
                                trainer.forward(pass)
                                trainer.backward(pass)
                            }
                        }
                    }
                }
                let weights = trainer.product.weights.updates, biases = trainer.product.biases.updates
                results.append(output + inputDelta + Array(UnsafeBufferPointer(start: weights.pointer, count: weights.count))
                               + Array(UnsafeBufferPointer(start: biases.pointer, count: biases.count)))
            }
            XCTAssertGreaterThan(results[0].map(abs).max()!, 0.1)
            for other in results.dropFirst() {
                let worst = zip(results[0], other).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-5, "layer \(layer)")
            }
        }
    }

    /// Batch-norm's parallel 8-lane passes against Darknet's loops, on planes of 1, 7 and 37
    /// values (no full lane, a tail only, lanes and a tail): outputs, rolling statistics,
    /// gradients and the delta within 1e-5 relative.
    func testBatchNormEqualsTheReference() {
        var random = SplitMix64(state: 11)
        for (batch, channels, spatial) in [(8, 5, 1), (3, 4, 7), (4, 70, 37)] {
            let count = batch * channels * spatial
            let values = (0..<count).map { _ in random.uniform(-2, 3) }
            let delta = (0..<count).map { _ in random.uniform(-1, 1) }
            let parameters = (0..<(4 * channels)).map { _ in random.uniform(0.5, 1.5) } // scales, mean, variance, biases
            var results: [[Float]] = []
            for fast in [true, false] {
                var (parameters, values, delta) = (parameters, values, delta)
                var updates = [Float](repeating: 0, count: channels)
                parameters.withUnsafeMutableBufferPointer { p in
                    let norm = BatchNormTraining(channels: channels, spatial: spatial, scales: p.baseAddress!,
                                                 rollingMean: p.baseAddress! + channels, rollingVariance: p.baseAddress! + 2 * channels)
                    let biases = UnsafePointer(p.baseAddress! + 3 * channels)
                    if fast {
                        norm.forward(&values, batch: batch, biases: biases)
                        norm.backward(&delta, batch: batch, biasUpdates: &updates)
                    } else {
                        norm.forwardReference(&values, batch: batch, biases: biases)
                        norm.backwardReference(&delta, batch: batch, biasUpdates: &updates)
                    }
                    let scaleUpdates = Array(UnsafeBufferPointer(start: norm.scales.updates.pointer, count: channels))
                    results.append(values + delta + updates + scaleUpdates + Array(p))
                }
            }
            XCTAssertGreaterThan(results[1].map(abs).max()!, 1)
            let scale = results[1].map(abs).max()!
            let worst = zip(results[0], results[1]).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5 * scale, "batch \(batch), \(channels) channels of \(spatial)")
        }
    }
}
