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
}
