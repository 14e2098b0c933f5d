/// `[maxpool]` (alias `[max]`). AlexeyAB adds `stride_x`/`stride_y`, and `maxpool_depth=1`:
/// a maximum across channels instead, channel g of `out_channels` (1) taking the largest of
/// channels g, g + out_channels, … at each pixel.
public struct MaxPool: Kind {
    static let sectionNames = ["maxpool", "max"]
    var spec: LayerSpec { .maxpool(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var window: PoolingWindow
    /// Across channels (`maxpool_depth`), keeping the spatial size; size and stride then unused.
    public var depth: Bool
    public var input: Shape { window.input }
    public var size: Int { window.size }
    /// The horizontal stride (`stride_x`, `stride` by default).
    public var stride: Int { window.strideX }
    public var strideY: Int { window.strideY }
    /// Total padding over both sides; the window starts at −padding/2.
    public var padding: Int { window.padding }
    public let output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        depth = try r.bool("maxpool_depth")
        let outChannels = try r.int("out_channels", default: 1, in: 1...Int(Int32.max))
        if try r.int("antialiasing", default: 0, in: 0...2) != 0 {
            throw r.error("antialiasing", "antialiased maxpool is not supported")
        }
        r.ignore(["maxpool_zero_nonmax"]) // GPU training only
        window = try PoolingWindow(&r, context)
        output = depth ? Shape(channels: outChannels, height: window.input.height, width: window.input.width) : window.output
        try context.checkShape(output, in: r)
    }

    /// Windows as `PoolingWindow.onnxPads` says. ONNX refuses a pad as large as the window (a
    /// window wholly outside): then the input is padded first, with −FLT_MAX, the value Darknet
    /// gives such a window. `maxpool_depth`: the channels, padded with −FLT_MAX to a multiple
    /// of out_channels, as (groups of out_channels, out_channels) and ReduceMax over the first.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        guard !depth else {
            let (groups, plane) = (output.channels, [input.height, input.width])
            let rows = (input.channels + groups - 1) / groups
            var x = graph.input
            if rows * groups > input.channels {
                x = graph.pad(x, before: [0, 0, 0, 0], after: [0, rows * groups - input.channels, 0, 0], value: -.greatestFiniteMagnitude)
            }
            return graph.reduce("ReduceMax", graph.reshape(x, [rows, groups] + plane), axis: 1, keepDimensions: false)
        }
        var (x, pads) = (graph.input, window.onnxPads)
        if pads.contains(where: { $0 >= size }) {
            x = graph.pad(x, before: [0, 0, pads[0], pads[1]], after: [0, 0, pads[2], pads[3]], value: -.greatestFiniteMagnitude)
            pads = [0, 0, 0, 0]
        }
        return graph.node("MaxPool", [x], [.ints("kernel_shape", [size, size]), .ints("strides", [strideY, stride]), .ints("pads", pads)])
    }

    var summarySize: String { depth ? "depth" : window.summary }
    /// AlexeyAB's count: size²·C for each output pixel.
    var bflops: Double { window.bflops }
}

/// `[avgpool]` (alias `[avg]`): global average pooling to c×1×1.
public struct AvgPool: Kind {
    static let sectionNames = ["avgpool", "avg"]
    var spec: LayerSpec { .avgpool(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var input: Shape
    public var output: Shape { Shape(channels: input.channels, height: 1, width: 1) }

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        input = context.input
    }

    func emitONNX(_ graph: inout ONNXGraph) throws -> String { graph.node("GlobalAveragePool", [graph.input]) }
}

/// `[local_avgpool]` (alias `[local_avg]`, AlexeyAB): maxpool's windows (`size`, `stride`,
/// `stride_x`/`stride_y`, `padding`), each giving the mean of its taps inside the image.
public struct LocalAvgPool: Kind {
    static let sectionNames = ["local_avgpool", "local_avg"]
    var spec: LayerSpec { .localAvgPool(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var window: PoolingWindow
    public var input: Shape { window.input }
    public var output: Shape { window.output }

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        window = try PoolingWindow(&r, context)
    }

    /// AveragePool over `PoolingWindow.onnxPads` without counting the padding. A window
    /// wholly outside the image averages no taps (0/0, NaN in Darknet), and ONNX refuses a pad
    /// as large as the window.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let pads = window.onnxPads
        if let pad = pads.first(where: { $0 >= window.size }) {
            throw graph.error("a padding of \(pad) puts whole \(window.size)×\(window.size) windows outside the image, whose mean of no taps is 0/0: ONNX's AveragePool refuses pads as large as the window")
        }
        return graph.node("AveragePool", [graph.input], [
            .ints("kernel_shape", [window.size, window.size]), .ints("strides", [window.strideY, window.strideX]),
            .ints("pads", pads), .int("count_include_pad", 0),
        ])
    }

    var summarySize: String { window.summary }
    /// AlexeyAB's count: size²·C for each output pixel.
    var bflops: Double { window.bflops }
}

/// The window geometry maxpool and local_avgpool share: `stride` (1) or `stride_x`/`stride_y`,
/// `size` (the stride) and `padding` (size − 1, in total over both sides; windows start at
/// −padding/2).
public struct PoolingWindow: Sendable, Equatable {
    public var input: Shape
    public var size: Int
    public var strideX: Int
    public var strideY: Int
    public var padding: Int
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        input = context.input
        let stride = try r.int("stride", default: 1, in: 1...Int(Int32.max))
        strideX = try r.int("stride_x", default: stride, in: 1...Int(Int32.max))
        strideY = try r.int("stride_y", default: stride, in: 1...Int(Int32.max))
        size = try r.int("size", default: stride, in: 1...Int(Int32.max))
        // Darknet's surprising default: padding = size − 1, so a 2×2/1 pool keeps the size.
        padding = try r.int("padding", default: size - 1, in: 0...Int(Int32.max))
        guard input.height + padding >= size, input.width + padding >= size else {
            throw r.error("size", "a \(size)×\(size) window does not fit the \(input.height)×\(input.width) input")
        }
        output = Shape(channels: input.channels,
                       height: (input.height + padding - size) / strideY + 1,
                       width: (input.width + padding - size) / strideX + 1)
        try context.checkShape(output, in: r)
    }

    /// ONNX's pads (top, left, bottom, right) for these windows: Darknet's start at
    /// −padding/2 and end where the output size says, the bottom and right pads as far as the
    /// last window reaches.
    var onnxPads: [Int] {
        let before = padding / 2
        let bottom = max(0, (output.height - 1) * strideY + size - input.height - before)
        let right = max(0, (output.width - 1) * strideX + size - input.width - before)
        return [before, before, bottom, right]
    }

    var summary: String { "\(size)×\(size)/" + (strideX == strideY ? "\(strideX)" : "\(strideX)×\(strideY)") }
    /// In floating point: the factors come from a cfg and their product may pass Int's range.
    var bflops: Double { Double(size) * Double(size) * Double(input.channels) * Double(output.height) * Double(output.width) / 1e9 }
}
