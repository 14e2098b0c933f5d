extension SplitBlockPlan {
    func trainer() throws -> any LayerTrainer { SplitBlockTrainer(self) }
}

/// `[res2net]` and `[triangle]` in training: each of the block's convolutions is a
/// `ConvolutionTrainer` over the whole batch (its batch-norm takes the batch's statistics), with
/// the slices, sums and concatenation of the forward pass between them, and their transposes
/// (the groups copied back, the sums' deltas fanned out) between the backward passes.
final class SplitBlockTrainer: LayerTrainer {
    private let convolutions: BlockConvolutions<ConvolutionTrainer>
    private let scale: Int
    /// Floats of one group (the block's `width` planes) of one image.
    private let group: Int
    /// What the backward pass reads, per batch: the reduced values, each inner convolution's
    /// input and output, the concatenation (res2net's closing conv's input) and that conv's output.
    private var batch = 0
    private var reduced = TrainingBuffer(0)
    private var innerInputs: [TrainingBuffer] = []
    private var innerOutputs: [TrainingBuffer] = []
    private var joined = TrainingBuffer(0)
    private var expanded = TrainingBuffer(0)

    init(_ plan: SplitBlockPlan) {
        convolutions = plan.convolutions.map(ConvolutionTrainer.init)
        scale = plan.scale
        group = plan.width * plan.convolutions.reduce.spec.output.height * plan.convolutions.reduce.spec.output.width
    }

    private var isResidual: Bool { convolutions.expand != nil }

    private func allocate(batch: Int) {
        guard batch != self.batch else { return }
        self.batch = batch
        let groups = batch * group
        reduced = TrainingBuffer(scale * groups)
        innerInputs = convolutions.inner.map { _ in TrainingBuffer(groups) }
        innerOutputs = convolutions.inner.map { _ in TrainingBuffer(groups) }
        joined = TrainingBuffer(isResidual ? scale * groups : 0)
        expanded = TrainingBuffer(convolutions.expand.map { batch * $0.spec.output.count } ?? 0)
    }

    /// Copies (or adds) group `index` of every image between `blocks` (batch × scale groups)
    /// and `groups` (batch × one group): to `groups`, or with `toBlocks` back.
    private func move(group index: Int, blocks: UnsafeMutablePointer<Float>, groups: UnsafeMutablePointer<Float>,
                      toBlocks: Bool, adding: Bool) {
        for b in 0..<batch {
            let (block, single) = (blocks + (b * scale + index) * group, groups + b * group)
            let (source, target) = toBlocks ? (single, block) : (block, single)
            if adding {
                for j in 0..<group { target[j] += source[j] }
            } else {
                target.update(from: source, count: group)
            }
        }
    }

    func forward(_ pass: TrainingPass) {
        allocate(batch: pass.batch)
        convolutions.reduce.forward(pass.part(convolutions.reduce, input: pass.input, output: reduced.pointer))
        for (i, convolution) in convolutions.inner.enumerated() {
            // Group 0 as it is; group i > 0 plus the previous group's result.
            move(group: i, blocks: reduced.pointer, groups: innerInputs[i].pointer, toBlocks: false, adding: false)
            if i > 0 {
                for j in 0..<(batch * group) { innerInputs[i].pointer[j] += innerOutputs[i - 1].pointer[j] }
            }
            convolution.forward(pass.part(convolution, input: innerInputs[i].pointer, output: innerOutputs[i].pointer))
        }
        let concatenation = isResidual ? joined.pointer : pass.output
        for (i, outputs) in innerOutputs.enumerated() { move(group: i, blocks: concatenation, groups: outputs.pointer, toBlocks: true, adding: false) }
        for b in 0..<batch { // the last group passes through
            let offset = (b * scale + scale - 1) * group
            (concatenation + offset).update(from: reduced.pointer + offset, count: group)
        }
        guard let expand = convolutions.expand else { return }
        expand.forward(pass.part(expand, input: joined.pointer, output: expanded.pointer))
        for j in 0..<(batch * expand.spec.output.count) { pass.output[j] = expanded.pointer[j] + pass.input[j] }
    }

    func backward(_ pass: TrainingPass) {
        let groups = batch * group
        // The concatenation's delta: res2net's closing conv gives it (the residual passes its
        // delta to the input unchanged); triangle's is the block's.
        let joinedDelta = TrainingBuffer(isResidual ? scale * groups : 0)
        var concatenationDelta = pass.delta
        if let expand = convolutions.expand {
            if let inputDelta = pass.inputDelta {
                for j in 0..<(batch * expand.spec.output.count) { inputDelta[j] += pass.delta[j] }
            }
            expand.backward(pass.part(expand, input: joined.pointer, output: expanded.pointer, delta: pass.delta, inputDelta: joinedDelta.pointer))
            concatenationDelta = joinedDelta.pointer
        }
        let reducedDelta = TrainingBuffer(scale * groups)
        for b in 0..<batch {
            let offset = (b * scale + scale - 1) * group
            (reducedDelta.pointer + offset).update(from: concatenationDelta + offset, count: group)
        }
        // Last inner group first: group i's output goes to the concatenation and to group i + 1's sum.
        let outputDelta = TrainingBuffer(groups), sumDelta = TrainingBuffer(groups)
        for i in convolutions.inner.indices.reversed() {
            move(group: i, blocks: concatenationDelta, groups: outputDelta.pointer, toBlocks: false, adding: false)
            if i < convolutions.inner.count - 1 {
                for j in 0..<groups { outputDelta.pointer[j] += sumDelta.pointer[j] }
            }
            sumDelta.pointer.update(repeating: 0, count: groups)
            convolutions.inner[i].backward(pass.part(convolutions.inner[i], input: innerInputs[i].pointer, output: innerOutputs[i].pointer,
                                                     delta: outputDelta.pointer, inputDelta: sumDelta.pointer))
            move(group: i, blocks: reducedDelta.pointer, groups: sumDelta.pointer, toBlocks: true, adding: true)
        }
        convolutions.reduce.backward(pass.part(convolutions.reduce, input: pass.input, output: reduced.pointer, delta: reducedDelta.pointer,
                                               inputDelta: pass.inputDelta))
    }

    func update(_ step: UpdateStep) {
        for convolution in convolutions.all { convolution.update(step) }
    }

    /// The convolutions' trainers (for tests).
    var convolutionTrainers: [ConvolutionTrainer] { convolutions.all }
}

private extension TrainingPass {
    /// The pass of `convolution`, one of a block's, over the same batch: its own input and output,
    /// and in the backward pass its own deltas (the forward pass reads none).
    func part(_ convolution: ConvolutionTrainer, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
              delta: UnsafeMutablePointer<Float>? = nil, inputDelta: UnsafeMutablePointer<Float>? = nil) -> TrainingPass {
        TrainingPass(batch: batch, input: input, output: output, delta: delta ?? output, inputDelta: inputDelta,
                     outputCount: convolution.spec.output.count, truth: truth, truths: truths, networkInput: networkInput,
                     outputs: outputs, deltas: deltas)
    }
}
