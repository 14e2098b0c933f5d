/// `[route]`: concatenates earlier layers' outputs along channels. With AlexeyAB's
/// `groups`/`group_id`, each input contributes only its `group_id`-th slice of channels.
public struct Route: Kind {
    static let sectionNames = ["route"]
    var spec: LayerSpec { .route(self) }

    /// Absolute indices of the layers concatenated, in order.
    public var layers: [Int]
    public var groups: Int
    public var groupID: Int
    public var output: Shape
    /// Floats per image of each layer in `layers`.
    var sourceCounts: [Int]

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        guard let references = try r.ints("layers"), !references.isEmpty else {
            throw r.error("layers", "missing: a route needs at least one layer")
        }
        layers = try references.map { try context.resolve($0, key: "layers", in: r) }
        groups = try r.int("groups", default: 1, in: 1...Int(Int32.max))
        groupID = try r.int("group_id", default: 0, in: 0...(groups - 1))
        let inputs = layers.map { context.previousOutputs[$0] }
        sourceCounts = inputs.map(\.count)
        let first = inputs[0]
        var channels = 0
        for (layer, shape) in zip(layers, inputs) {
            guard shape.height == first.height, shape.width == first.width else {
                throw r.error("layers", "layer \(layer) is \(shape.height)×\(shape.width) but layer \(layers[0]) is \(first.height)×\(first.width): routed layers must have the same spatial size")
            }
            guard shape.channels % groups == 0 else {
                throw r.error("groups", "does not divide the \(shape.channels) channels of layer \(layer)")
            }
            channels += shape.channels / groups
        }
        output = Shape(channels: channels, height: first.height, width: first.width)
        try context.checkShape(output, in: r)
    }

    func sources(at index: Int) -> [Int] { layers }
    var weightArrays: [WeightArray] { [] }

    /// Each source (its `groupID`-th slice of channels with groups), concatenated.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let parts = zip(layers, sourceCounts).map { layer, count in
            let part = count / (output.height * output.width) / groups
            return groups == 1 ? graph.output(of: layer) : graph.slice(graph.output(of: layer), axis: 1, (groupID * part)..<((groupID + 1) * part))
        }
        return parts.count == 1 ? parts[0] : graph.node("Concat", parts, [.int("axis", 1)])
    }
    var summaryFilters: String { layers.map(String.init).joined(separator: ",") }
}
