import Glibc

/// One layer's half of a training step (its kind's `Runtime/<Kind>+Backward.swift`), made by
/// `LayerPlan.trainer()`: a forward pass in training mode that keeps what the backward pass
/// needs, the backward pass (Darknet's `backward_*_layer`), and the parameter update.
protocol LayerTrainer: AnyObject {
    /// Training's forward pass: batch-norm on the batch's statistics, losses' deltas.
    func forward(_ pass: TrainingPass)
    /// Adds the gradient of the loss with respect to the layer's inputs to their deltas, and
    /// accumulates its parameters' gradients (Darknet's `*_updates`).
    func backward(_ pass: TrainingPass)
    /// Darknet's `update_*_layer`.
    func update(_ step: UpdateStep)
    /// The truth floats per image a loss reads (nil for kinds without one).
    var truthFloats: Int? { get }
    /// After the forward pass, a loss's cost over the batch (Darknet's `l.cost`); nil for kinds
    /// without one.
    func cost(_ pass: TrainingPass) -> Float?
}

extension LayerTrainer {
    func update(_ step: UpdateStep) {}
    var truthFloats: Int? { nil }
    func cost(_ pass: TrainingPass) -> Float? { nil }
}

/// A kind whose forward pass in training is its inference pass and which keeps nothing between
/// passes (no parameters, no choices): its backward pass, and a loss's deltas, are methods of
/// the kind itself, run by a `StatelessTrainer`.
protocol StatelessTraining: LayerPlan {
    /// After the forward pass: the deltas of a loss (none for most kinds).
    func loss(_ pass: TrainingPass)
    func backward(_ pass: TrainingPass)
    /// The truth floats per image `loss` reads (nil without a loss).
    var truthFloats: Int? { get }
    /// After `loss`, its cost over the batch (Darknet's `l.cost`; nil without a loss).
    func cost(_ pass: TrainingPass) -> Float?
}

extension StatelessTraining {
    func loss(_ pass: TrainingPass) {}
    var truthFloats: Int? { nil }
    func cost(_ pass: TrainingPass) -> Float? { nil }
}

final class StatelessTrainer<Plan: StatelessTraining>: LayerTrainer {
    let plan: Plan

    init(_ plan: Plan) { self.plan = plan }

    func forward(_ pass: TrainingPass) {
        plan.forward(pass.forwardPass, sources: pass.outputs)
        plan.loss(pass)
    }

    func backward(_ pass: TrainingPass) { plan.backward(pass) }

    var truthFloats: Int? { plan.truthFloats }

    func cost(_ pass: TrainingPass) -> Float? { plan.cost(pass) }
}

/// Why a kind (or one of its settings) cannot be trained; `Trainer` names the layer.
struct TrainingUnsupported: Error {
    let reason: String
}

extension LayerPlan {
    /// The answer of the kinds that have no backward pass yet.
    func untrainable(_ kind: String) -> TrainingUnsupported {
        TrainingUnsupported(reason: "[\(kind)] has no backward pass yet: this network cannot be trained")
    }
}

/// What a layer's training passes read and write, for `batch` images (NCHW, contiguous).
struct TrainingPass {
    let batch: Int
    let input: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    /// The gradient of the loss with respect to `output` (Darknet's `l.delta`).
    let delta: UnsafeMutablePointer<Float>
    /// The delta of the layer before (nil for the first layer, whose input has none).
    let inputDelta: UnsafeMutablePointer<Float>?
    /// Floats of `output` per image.
    let outputCount: Int
    /// The batch's truth (Darknet's `net.truth`), `truths` floats per image.
    let truth: UnsafePointer<Float>
    let truths: Int
    /// The network's input size (`net.w`, `net.h`), which yolo's anchors are in.
    let networkInput: Shape
    let outputs: (Int) -> UnsafeMutablePointer<Float>
    let deltas: (Int) -> UnsafeMutablePointer<Float>

    var forwardPass: ForwardPass {
        ForwardPass(input: input, output: output, batch: batch, workspace: output, calibrate: nil)
    }
}

/// The arguments of Darknet's `update_network` for one step.
struct UpdateStep {
    let rate: Float
    let momentum: Float
    let decay: Float
    /// Images in the step (`net.batch · net.subdivisions`).
    let batch: Int
    /// Adam's moments (Darknet's GPU update), with `t` the update's number from 1.
    let adam: (b1: Float, b2: Float, eps: Float, t: Int)?

    /// The step of a layer with its own `learning_rate` factor.
    func scaled(by factor: Float) -> UpdateStep {
        UpdateStep(rate: rate * factor, momentum: momentum, decay: decay, batch: batch, adam: adam)
    }
}

/// Zeroed floats a trainer owns (gradients, momentum, saved activations).
final class TrainingBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}

/// One array of parameters with its accumulated gradient (Darknet's `*_updates`, which is
/// also SGD's momentum) and Adam's moments.
final class TrainedArray {
    let values: UnsafeMutablePointer<Float>
    let updates: TrainingBuffer
    /// Whether `update_*_layer` applies weight decay to it (weights yes; biases and scales no).
    let decays: Bool
    private lazy var m = TrainingBuffer(updates.count)
    private lazy var v = TrainingBuffer(updates.count)

    init(_ values: UnsafeMutablePointer<Float>, count: Int, decays: Bool) {
        self.values = values
        updates = TrainingBuffer(count)
        self.decays = decays
    }

    /// Darknet's CPU update (decay before the step, then momentum), or with `adam` its GPU
    /// update, `adam_update_gpu`, which decays every array.
    func update(_ step: UpdateStep) {
        let (w, d, n) = (values, updates.pointer, updates.count)
        let batch = Float(step.batch)
        if let adam = step.adam {
            let (m, v) = (m.pointer, v.pointer)
            let mScale = 1 - powf(adam.b1, Float(adam.t)), vScale = 1 - powf(adam.b2, Float(adam.t))
            for i in 0..<n {
                m[i] *= adam.b1
                v[i] *= adam.b2
                d[i] += -step.decay * batch * w[i]
                m[i] += (1 - adam.b1) * d[i]
                v[i] += (1 - adam.b2) * d[i] * d[i]
                w[i] += step.rate * (m[i] / mScale) / (sqrtf(v[i] / vScale) + adam.eps)
                d[i] = 0
            }
            return
        }
        if decays {
            for i in 0..<n { d[i] += -step.decay * batch * w[i] }
        }
        let scale = step.rate / batch
        for i in 0..<n {
            w[i] += scale * d[i]
            d[i] *= step.momentum
        }
    }
}
