/// `[maxpool]` (alias `[max]`).
public struct MaxPool: Kind {
    static let sectionNames = ["maxpool", "max"]
    var spec: LayerSpec { .maxpool(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var input: Shape
    public var size: Int
    public var stride: Int
    /// Total padding over both sides; the window starts at −padding/2.
    public var padding: Int
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        input = context.input
        stride = try r.int("stride", default: 1, in: 1...Int(Int32.max))
        size = try r.int("size", default: stride, in: 1...Int(Int32.max))
        // Darknet's surprising default: padding = size − 1, so a 2×2/1 pool keeps the size.
        padding = try r.int("padding", default: size - 1, in: 0...Int(Int32.max))
        output = Shape(channels: input.channels,
                       height: (input.height + padding - size) / stride + 1,
                       width: (input.width + padding - size) / stride + 1)
        guard input.height + padding >= size, input.width + padding >= size else {
            throw r.error("size", "a \(size)×\(size) window does not fit the \(input.height)×\(input.width) input")
        }
        try context.checkShape(output, in: r)
    }

    /// Darknet's windows start at −padding/2 and end where the output size says: ONNX's pads
    /// say the same, the bottom and right ones as far as the last window reaches. ONNX refuses
    /// a pad as large as the window (a window wholly outside): then the input is padded first,
    /// with −FLT_MAX, the value Darknet gives such a window.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let before = padding / 2
        let bottom = max(0, (output.height - 1) * stride + size - input.height - before)
        let right = max(0, (output.width - 1) * stride + size - input.width - before)
        var (x, pads) = (graph.input, [before, before, bottom, right])
        if pads.contains(where: { $0 >= size }) {
            x = graph.pad(x, before: [0, 0, before, before], after: [0, 0, bottom, right], value: -.greatestFiniteMagnitude)
            pads = [0, 0, 0, 0]
        }
        return graph.node("MaxPool", [x], [.ints("kernel_shape", [size, size]), .ints("strides", [stride, stride]), .ints("pads", pads)])
    }

    var summarySize: String { "\(size)×\(size)/\(stride)" }
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
