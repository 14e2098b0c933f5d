/// `[upsample]`: nearest-neighbour upsampling by `stride`, times `scale`. A negative stride
/// sums each stride×stride block instead (Darknet's `reverse`), times `scale`.
public struct Upsample: Kind {
    static let sectionNames = ["upsample"]
    var spec: LayerSpec { .upsample(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var input: Shape
    public var stride: Int
    public var downsample: Bool
    public var scale: Float
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        input = context.input
        let signedStride = try r.int("stride", default: 2)
        guard signedStride != 0 else { throw r.error("stride", "expected a non-zero value") }
        stride = abs(signedStride)
        downsample = signedStride < 0
        scale = try r.float("scale", default: 1)
        if downsample {
            guard input.width % stride == 0, input.height % stride == 0 else {
                throw r.error("stride", "the \(input.height)×\(input.width) input is not a multiple of \(stride)")
            }
            output = Shape(channels: input.channels, height: input.height / stride, width: input.width / stride)
        } else {
            output = Shape(channels: input.channels, height: input.height * stride, width: input.width * stride)
        }
        try context.checkShape(output, in: r)
    }

    /// Nearest-neighbour Resize, or (downsampling) the block means times stride², then the scale.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        if downsample {
            let mean = graph.node("AveragePool", [graph.input], [.ints("kernel_shape", [stride, stride]), .ints("strides", [stride, stride])])
            return graph.scaled(mean, scale * Float(stride * stride))
        }
        let factors = graph.constant([1, 1, Float(stride), Float(stride)], [4], "scales")
        let y = graph.node("Resize", [graph.input, "", factors], [
            .string("mode", "nearest"), .string("coordinate_transformation_mode", "asymmetric"), .string("nearest_mode", "floor"),
        ])
        return graph.scaled(y, scale)
    }

    var summarySize: String { downsample ? "/\(stride)" : "×\(stride)" }
}

/// `[reorg]`: space-to-depth by `stride` (or depth-to-space with `reverse=1`), in the element
/// order of Darknet's `reorg_cpu`, which YOLOv2's weights were trained with. With `extra=N` it
/// instead flattens its input and appends N zeros (go.cfg), an (inputs+N)×1×1 output.
public struct Reorg: Kind {
    static let sectionNames = ["reorg"]
    var spec: LayerSpec { .reorg(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var input: Shape
    public var stride: Int
    public var reverse: Bool
    public var extra: Int
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        input = context.input
        stride = try r.int("stride", default: 1, in: 1...Int(Int32.max))
        reverse = try r.bool("reverse")
        extra = try r.int("extra", default: 0, in: 0...Int(Int32.max))
        if try r.bool("flatten") { throw r.error("flatten", "reorg with flatten is not supported") }
        let block = stride * stride
        if extra > 0 {
            output = Shape(channels: input.count + extra, height: 1, width: 1)
        } else if reverse {
            guard input.channels % block == 0 else {
                throw r.error("stride", "the \(input.channels) input channels are not a multiple of \(block)")
            }
            output = Shape(channels: input.channels / block, height: input.height * stride, width: input.width * stride)
        } else {
            guard input.width % stride == 0, input.height % stride == 0 else {
                throw r.error("stride", "the \(input.height)×\(input.width) input is not a multiple of \(stride)")
            }
            // reorg_cpu reads the input as c/stride² planes of (h·stride)×(w·stride): with any
            // channels left over it reads past the input (or divides by zero, below stride²).
            guard input.channels % block == 0 else {
                throw r.error("stride", "the \(input.channels) input channels are not a multiple of \(block), which Darknet's reorg reads past its input for")
            }
            output = Shape(channels: input.channels * block, height: input.height / stride, width: input.width / stride)
        }
        try context.checkShape(output, in: r)
    }

    /// `reorg_cpu`'s permutation, for input (c, h, w) and s = stride: read as (c/s², h, s, w, s),
    /// its axes go to (s, s, c/s², h, w) order — or back, with `reverse`. With `extra`, the
    /// input flattened and padded with zeros.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let (c, h, w, s) = (input.channels, input.height, input.width, stride)
        if extra > 0 {
            let flat = graph.node("Flatten", [graph.input], [.int("axis", 1)])
            return graph.reshape(graph.pad(flat, before: [0, 0], after: [0, extra]), [output.channels, 1, 1])
        }
        let planes = c / (s * s)
        if reverse {
            let grouped = graph.reshape(graph.input, [s, s, planes, h, w])
            let moved = graph.node("Transpose", [grouped], [.ints("perm", [0, 3, 4, 1, 5, 2])])
            return graph.reshape(moved, [output.channels, output.height, output.width])
        }
        let grouped = graph.reshape(graph.input, [planes, h, s, w, s])
        let moved = graph.node("Transpose", [grouped], [.ints("perm", [0, 3, 5, 1, 2, 4])])
        return graph.reshape(moved, [output.channels, output.height, output.width])
    }

    var summarySize: String { extra > 0 ? "+\(extra)" : "/\(stride)" }
}

/// `[reorg3d]` (AlexeyAB): true space-to-depth by `stride`, C×H×W to (C·s²)×(H/s)×(W/s): output
/// channel (dy·s + dx)·C + c holds input channel c at the offsets (dy, dx) of each s×s block.
/// (`[reorg]` keeps the older permutation YOLOv2 was trained with.)
public struct Reorg3d: Kind {
    static let sectionNames = ["reorg3d"]
    var spec: LayerSpec { .reorg3d(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    /// ONNX's SpaceToDepth orders its output channels as reorg3d does: (dy·s + dx)·C + c.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        graph.node("SpaceToDepth", [graph.input], [.int("blocksize", stride)])
    }
    var weightArrays: [WeightArray] { [] }

    public var input: Shape
    public var stride: Int
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        input = context.input
        stride = try r.int("stride", default: 1, in: 1...Int(Int32.max))
        // AlexeyAB's depth-to-space variant runs reorg_cpu with the input's dimensions taken
        // for the output's; no cfg uses it.
        if try r.bool("reverse") { throw r.error("reverse", "reorg3d with reverse is not supported") }
        guard input.width % stride == 0, input.height % stride == 0 else {
            throw r.error("stride", "the \(input.height)×\(input.width) input is not a multiple of \(stride)")
        }
        output = Shape(channels: input.channels * stride * stride, height: input.height / stride, width: input.width / stride)
        try context.checkShape(output, in: r)
    }

    var summarySize: String { "/\(stride)" }
}
