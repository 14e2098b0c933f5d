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
            // reorg_cpu divides by channels / stride² (Darknet dies of it with fewer channels).
            guard input.channels >= block else {
                throw r.error("stride", "the \(input.channels) input channels are fewer than \(stride)×\(stride)")
            }
            output = Shape(channels: input.channels * block, height: input.height / stride, width: input.width / stride)
        }
        try context.checkShape(output, in: r)
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
