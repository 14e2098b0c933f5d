/// `[scale_channels]` (AlexeyAB): the output of layer `from` scaled by this layer's input, then
/// the activation (linear by default). The input is C×1×1 (one factor a channel, the
/// squeeze-and-excitation path) or, with `scale_wh=1`, 1×H×W (one factor a pixel); the output
/// has `from`'s shape.
public struct ScaleChannels: Kind {
    static let sectionNames = ["scale_channels"]
    var spec: LayerSpec { .scaleChannels(self) }

    public var from: Int
    public var input: Shape
    /// One factor a pixel, shared by all channels, instead of one a channel.
    public var scaleWH: Bool
    public var activation: Activation
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        from = try context.singleFrom(&r, "the layer to scale")
        input = context.input
        scaleWH = try r.bool("scale_wh")
        activation = try r.activation(default: .linear)
        output = context.previousOutputs[from]
        if scaleWH {
            guard input.channels == 1, input.height == output.height, input.width == output.width else {
                throw r.error("scale_wh", "the input is \(input) and layer \(from) is \(output): one factor a pixel needs a 1×\(output.height)×\(output.width) input")
            }
        } else {
            guard input.height == 1, input.width == 1, input.channels == output.channels else {
                throw r.error("from", "the input is \(input) and layer \(from) is \(output): one factor a channel needs a \(output.channels)×1×1 input")
            }
        }
    }

    func sources(at index: Int) -> [Int] { [index - 1, from] }
    /// Layer `from`'s output times the input, which ONNX's Mul broadcasts over the plane (a
    /// C×1×1 input) or the channels (`scale_wh`, a 1×H×W input).
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        graph.activation(activation, graph.node("Mul", [graph.output(of: from), graph.input]))
    }
    var weightArrays: [WeightArray] { [] }
    var summaryFilters: String { "\(from)" }
    var summarySize: String { scaleWH ? "wh" : "" }
}

/// `[sam]` (AlexeyAB's spatial attention): the input times the output of layer `from`, element
/// by element, then the activation (linear by default). Both have the same shape.
public struct Sam: Kind {
    static let sectionNames = ["sam"]
    var spec: LayerSpec { .sam(self) }

    public var from: Int
    public var activation: Activation
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        from = try context.singleFrom(&r, "the layer to multiply")
        activation = try r.activation(default: .linear)
        output = context.input
        let other = context.previousOutputs[from]
        guard other == output else {
            throw r.error("from", "layer \(from) is \(other) and the input is \(output): sam multiplies tensors of the same shape")
        }
    }

    func sources(at index: Int) -> [Int] { [index - 1, from] }
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        graph.activation(activation, graph.node("Mul", [graph.input, graph.output(of: from)]))
    }
    var weightArrays: [WeightArray] { [] }
    var summaryFilters: String { "\(from)" }
}
