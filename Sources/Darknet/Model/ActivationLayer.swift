/// `[activation]`: applies `activation` (Darknet's default: linear) to its input, element by
/// element; same shape, no weights (Darknet's `activation_layer.c`).
public struct ActivationLayer: Kind {
    static let sectionNames = ["activation"]
    var spec: LayerSpec { .activation(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }
    func emitONNX(_ graph: inout ONNXGraph) throws -> String { graph.activation(activation, graph.input) }

    public var activation: Activation
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        activation = try r.activation(default: .linear)
        output = context.input
    }
}
