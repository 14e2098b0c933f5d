import CDirectConvolution

/// Convolution without im2col (the C target `CDirectConvolution`, AVX-512): each core copies a
/// band of input rows, zero-padded, into its own workspace, and
/// multiplies tiles of up to 12 filters × 32 outputs straight from it, batch-norm and a cheap
/// activation applied before a tile is stored. It needs no columns in memory between im2col and
/// the GEMM, which for a layer with few input channels cost more than the multiply-adds.
enum DirectConvolution {
    /// Whether this processor and its operating system run the kernel.
    static let available = Processor.current.kernels >= .avx512

    /// What the kernel computes (the plan chooses where it pays: `ConvolutionPlan.choose`).
    static func applies(to spec: Convolutional) -> Bool {
        available && spec.groups == 1 && spec.dilation == 1 && spec.stride == 1 && spec.strideY == 1 && spec.size <= 8
            && spec.antialiasing == 0
    }

    /// The activation the kernel applies itself, or nil for one left to a pass of its own.
    static func fusedActivation(_ activation: Activation) -> direct_activation? {
        if activation == .linear { return direct_linear }
        if activation == .leaky { return direct_leaky }
        if activation == .relu { return direct_relu }
        return nil
    }

    static func shape(_ spec: Convolutional) -> direct_convolution_shape {
        direct_convolution_shape(channels: Int32(spec.input.channels), height: Int32(spec.input.height), width: Int32(spec.input.width),
                                 filters: Int32(spec.filters), outHeight: Int32(spec.output.height), outWidth: Int32(spec.output.width),
                                 size: Int32(spec.size), padding: Int32(spec.padding))
    }

    /// Output rows a band takes: as many as keep its copied input within 1 MiB, for the core's
    /// cache, at least one.
    static func bandRows(_ spec: Convolutional) -> Int {
        var shape = shape(spec)
        let perRow = max(1, Int(direct_convolution_workspace(&shape, 2) - direct_convolution_workspace(&shape, 1)))
        return max(1, min(spec.output.height, (1 << 18) / perRow))
    }

    /// Workspace of one core.
    static func workspaceFloats(_ spec: Convolutional, bandRows: Int) -> Int {
        var shape = shape(spec)
        return Int(direct_convolution_workspace(&shape, Int32(bandRows)))
    }

    /// One image: output = activation(multipliers[f]·(weights ∗ input) + shifts[f]), the output
    /// rows split over the cores (the plan uses the kernel only on outputs of many rows).
    static func convolve(_ spec: Convolutional, _ input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                         multipliers: UnsafePointer<Float>, shifts: UnsafePointer<Float>, activation: direct_activation,
                         _ output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, bandRows: Int) {
        var shape = shape(spec)
        let perCore = workspaceFloats(spec, bandRows: bandRows)
        Parallel.forEach(spec.output.height, work: spec.output.count * spec.fanIn) { core, rows in
            direct_convolution(&shape, input, weights, Int32(rows.lowerBound), Int32(rows.count), Int32(bandRows),
                               multipliers, shifts, activation, output, workspace + core * perCore)
        }
    }
}
