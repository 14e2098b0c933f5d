/// `[implicit]` (AlexeyAB, YOLOR's implicit knowledge): a learned filters×atoms×1 tensor,
/// stored in the weights file, whatever the input. Darknet initialises it to
/// `mean` + U(−`std`, `std`).
public struct Implicit: Kind {
    static let sectionNames = ["implicit"]
    var spec: LayerSpec { .implicit(self) }
    // It reads nothing; the previous layer is named so the runtime has an input to hand it.
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    /// The stored tensor expanded to (batch, filters, atoms, 1), the batch read from the
    /// network's input (Shape), so that a dynamic batch gets one copy an image.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let values = graph.constant(graph.take(weightArrays)[.learned]!, [1, output.channels, output.height, output.width], "learned")
        let batch = graph.slice(graph.node("Shape", [ONNXGraph.inputName]), axis: 0, 0..<1)
        let shape = graph.node("Concat", [batch, graph.constant(int64s: [output.channels, output.height, output.width], "shape")], [.int("axis", 0)])
        return graph.node("Expand", [values, shape])
    }

    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        let filters = try r.int("filters", default: 128, in: 1...Int(Int32.max))
        let atoms = try r.int("atoms", default: 1, in: 1...Int(Int32.max))
        r.ignore(["mean", "std"]) // initialisation only
        output = Shape(channels: filters, height: atoms, width: 1)
        try context.checkShape(output, in: r)
    }

    var weightArrays: [WeightArray] { [WeightArray(role: .learned, count: output.count)] }
    var summaryFilters: String { "\(output.channels)" }
}
