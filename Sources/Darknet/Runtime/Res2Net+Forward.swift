extension SplitBlock {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { SplitBlockPlan(split, &binding) }
}

/// `[res2net]` and `[triangle]` at run time: the seed's hierarchical split, then (res2net) the
/// closing 1×1 conv plus the block input. Per image, in the workspace:
/// [reduced: width·scale planes][split outputs: width·scale planes, res2net only][sum: width planes][im2col].
/// Its pointers are into the network's parameter store, read-only once the network is shared.
struct SplitBlockPlan: LayerPlan, @unchecked Sendable {
    let convolutions: BlockConvolutions<ConvolutionPlan>
    let width: Int
    let scale: Int

    init(_ split: HierarchicalSplit, _ binding: inout PlanBinding) {
        convolutions = split.convolutions.map { ConvolutionPlan($0, parameters: binding.take($0.weightArrays), dialect: binding.dialect,
                                                                    direct: binding.directConvolution) }
        width = split.width
        scale = split.scale
    }

    func workspaceFloats(batch: Int) -> Int {
        let planes = convolutions.reduce.spec.output.height * convolutions.reduce.spec.output.width
        let columns = convolutions.all.map { $0.workspaceFloats(batch: 1) }.max() ?? 0
        return (width * scale * (convolutions.expand == nil ? 1 : 2) + width) * planes + columns
    }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        forward(pass.input, pass.output, batch: pass.batch, workspace: pass.workspace, calibrate: pass.calibrate)
    }

    func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int,
                 workspace: UnsafeMutablePointer<Float>, calibrate: ConvolutionPlan.Calibrator?) {
        let (reduce, inner, expand) = (convolutions.reduce, convolutions.inner, convolutions.expand)
        let plane = reduce.spec.output.height * reduce.spec.output.width
        let group = width * plane
        let reduced = workspace
        let splitOutputs = expand == nil ? nil : reduced + scale * group
        let sum = (splitOutputs ?? reduced) + scale * group
        let columns = sum + group
        for image in 0..<batch {
            let source = input + image * reduce.spec.input.count
            let target = output + image * (expand?.spec.output.count ?? scale * group)
            let outputs = splitOutputs ?? target
            reduce.forward(source, reduced, batch: 1, workspace: columns, calibrate: calibrate)
            for (i, convolution) in inner.enumerated() {
                var convolved = UnsafePointer(reduced)
                if i > 0 {
                    // sp = sp + x_i: the previous group's result plus this group's slice.
                    for j in 0..<group { sum[j] = outputs[(i - 1) * group + j] + reduced[i * group + j] }
                    convolved = UnsafePointer(sum)
                }
                convolution.forward(convolved, outputs + i * group, batch: 1, workspace: columns, calibrate: calibrate)
            }
            (outputs + (scale - 1) * group).update(from: reduced + (scale - 1) * group, count: group)
            if let expand {
                expand.forward(outputs, target, batch: 1, workspace: columns, calibrate: calibrate)
                for j in 0..<expand.spec.output.count { target[j] += source[j] } // then a linear activation
            }
        }
    }
}
