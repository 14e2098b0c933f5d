/// What convolutional and connected layers share in training: after their matrix product,
/// batch-norm on the batch (its β are the biases) or the biases, then the activation; their
/// parameters and Darknet's update of them, at the layer's own `learning_rate` factor.
final class TrainedProduct {
    let weights: TrainedArray
    let biases: TrainedArray
    let norm: BatchNormTraining?
    let activation: Activation
    let learningRateScale: Float
    /// Output channels and values per channel of one image.
    let channels: Int
    let spatial: Int
    /// The values before the activation, kept for the activations whose gradient needs them.
    private var preActivation = TrainingBuffer(0)

    init(weights: UnsafeMutablePointer<Float>, count: Int, biases: UnsafeMutablePointer<Float>, channels: Int, spatial: Int,
         norm: (scales: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>)?,
         activation: Activation, learningRateScale: Float) {
        self.weights = TrainedArray(weights, count: count, decays: true)
        self.biases = TrainedArray(biases, count: channels, decays: false)
        self.norm = norm.map {
            BatchNormTraining(channels: channels, spatial: spatial, scales: $0.scales, rollingMean: $0.mean, rollingVariance: $0.variance)
        }
        (self.channels, self.spatial) = (channels, spatial)
        self.activation = activation
        self.learningRateScale = learningRateScale
    }

    /// Batch-norm or biases, then the activation, over `batch` images of the product in `values`.
    func forward(_ values: UnsafeMutablePointer<Float>, batch: Int) {
        let count = batch * channels * spatial
        if let norm {
            norm.forward(values, batch: batch, biases: biases.values)
        } else {
            for plane in 0..<(batch * channels) {
                let bias = biases.values[plane % channels]
                for i in 0..<spatial { values[plane * spatial + i] += bias }
            }
        }
        if activation.needsInput {
            if preActivation.count != count { preActivation = TrainingBuffer(count) }
            preActivation.pointer.update(from: values, count: count)
        }
        activation.apply(values, count: count)
    }

    /// Turns the delta of the layer's output into the delta of its product, accumulating the
    /// gradients of the biases and batch-norm scales.
    func backward(output: UnsafePointer<Float>, delta: UnsafeMutablePointer<Float>, batch: Int) {
        activation.multiplyGradient(output, input: preActivation.pointer, into: delta, count: batch * channels * spatial)
        if let norm {
            norm.backward(delta, batch: batch, biasUpdates: biases.updates.pointer)
        } else {
            accumulateBiasGradient(biases.updates.pointer, delta, batch: batch, channels: channels, spatial: spatial)
        }
    }

    func update(_ network: UpdateStep) {
        let step = network.scaled(by: learningRateScale)
        biases.update(step)
        norm?.scales.update(step)
        weights.update(step)
    }
}
