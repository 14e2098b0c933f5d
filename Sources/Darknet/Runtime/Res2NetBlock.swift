/// `[res2net]` and `[triangle]` at run time: the seed's hierarchical split, then (res2net) the
/// closing 1×1 conv plus the block input. Per image, in the workspace:
/// [reduced: width·scale planes][split outputs: width·scale planes, res2net only][sum: width planes][im2col].
/// Its pointers are into the network's parameter store, read-only once the network is shared.
struct Res2NetBlock: @unchecked Sendable {
    let reduce: Convolution
    let inner: [Convolution]
    let expand: Convolution?
    let width: Int
    let scale: Int

    init(split: HierarchicalSplit, residual: Convolutional?, parameters: UnsafeMutablePointer<Float>) {
        var next = parameters
        func bind(_ spec: Convolutional) -> Convolution {
            defer { next += spec.weightArrays.reduce(0) { $0 + $1.count } }
            return Convolution(spec, parameters: next)
        }
        reduce = bind(split.reduce)
        inner = split.inner.map(bind)
        expand = residual.map(bind)
        width = split.width
        scale = split.scale
    }

    static func workspaceFloats(_ split: HierarchicalSplit, residual: Convolutional?) -> Int {
        let planes = split.reduce.output.height * split.reduce.output.width
        let columns = ([split.reduce] + split.inner + (residual.map { [$0] } ?? [])).map(\.columnFloats).max() ?? 0
        return (split.width * split.scale * (residual == nil ? 1 : 2) + split.width) * planes + columns
    }

    func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int,
                 workspace: UnsafeMutablePointer<Float>, calibrate: Convolution.Calibrator?) {
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
