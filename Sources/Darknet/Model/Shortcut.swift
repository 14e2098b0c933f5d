/// `[shortcut]`: `output = alpha·previous + beta·layers[from]`, then the activation.
///
/// Darknet's `shortcut_cpu` also adds layers of a different shape: over the smaller channel
/// count, sampling the larger spatial grid with a whole-number stride. Its resnet cfgs need it.
public struct Shortcut: Kind {
    static let sectionNames = ["shortcut"]
    var spec: LayerSpec { .shortcut(self) }

    public var from: Int
    public var fromShape: Shape
    public var activation: Activation
    public var alpha: Float
    public var beta: Float
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        guard let reference = try r.ints("from"), reference.count == 1 else {
            throw r.error("from", r.has("from") ? "expected one layer" : "missing: a shortcut needs a layer to add")
        }
        from = try context.resolve(reference[0], key: "from", in: r)
        fromShape = context.previousOutputs[from]
        activation = try r.activation(default: .linear) // Darknet's default
        alpha = try r.float("alpha", default: 1)
        beta = try r.float("beta", default: 1)
        output = context.input
        // shortcut_cpu asserts that one grid is a whole multiple of the other in both directions.
        let (add, out) = (fromShape, output)
        let compatible = add.width / out.width == add.height / out.height && out.width / add.width == out.height / add.height
        guard compatible else {
            throw r.error("from", "layer \(from) is \(add) and the input is \(out): the spatial sizes must be equal or whole multiples of each other")
        }
    }

    func sources(at index: Int) -> [Int] { [index - 1, from] }
    var weightArrays: [WeightArray] { [] }

    /// alpha·input + beta·add, then the activation. Shapes that differ add as `shortcut_cpu`
    /// does, over the common channels: a larger `from` grid is sampled every stride-th
    /// position (a strided slice); a smaller one is spread to every sample-th position of the
    /// input's grid, zeros between (interleaved by a reshape and a pad).
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let (input, add) = (graph.input, graph.output(of: from))
        guard fromShape != output else {
            return graph.activation(activation, graph.node("Add", [graph.scaled(input, alpha), graph.scaled(add, beta)]))
        }
        let (c1, h1, w1) = (fromShape.channels, fromShape.height, fromShape.width)
        let (c2, h2, w2) = (output.channels, output.height, output.width)
        let (stride, sample) = (max(w1 / w2, 1), max(w2 / w1, 1))
        let common = min(c1, c2)
        var added = c1 > common ? graph.slice(add, axis: 1, 0..<common) : add
        if sample == 1 { // `from`'s grid is the larger: the input's channels beyond the common ones pass
            if stride > 1 {
                added = graph.slice(added, axis: 2, 0..<((h2 - 1) * stride + 1), step: stride)
                added = graph.slice(added, axis: 3, 0..<((w2 - 1) * stride + 1), step: stride)
            } else if h1 > h2 || w1 > w2 {
                added = graph.slice(graph.slice(added, axis: 2, 0..<h2), axis: 3, 0..<w2)
            }
            guard common < c2 else { return graph.activation(activation, graph.node("Add", [graph.scaled(input, alpha), graph.scaled(added, beta)])) }
            let sum = graph.node("Add", [graph.scaled(graph.slice(input, axis: 1, 0..<common), alpha), graph.scaled(added, beta)])
            return graph.activation(activation, graph.node("Concat", [sum, graph.slice(input, axis: 1, common..<c2)], [.int("axis", 1)]))
        }
        // The input's grid is the larger: add[k, j, i] goes to out[k, j·sample, i·sample].
        added = graph.reshape(added, [common, h1, 1, w1, 1])
        added = graph.pad(added, before: [0, 0, 0, 0, 0, 0], after: [0, 0, 0, sample - 1, 0, sample - 1])
        added = graph.reshape(added, [common, h1 * sample, w1 * sample])
        added = graph.pad(added, before: [0, 0, 0, 0], after: [0, c2 - common, h2 - h1 * sample, w2 - w1 * sample])
        var kept = input
        if alpha != 1 { // alpha only where something is added: the input times 1 + (alpha − 1)·mask
            let channels = graph.constant((0..<c2).map { $0 < common ? alpha - 1 : 0 }, [c2, 1, 1], "alpha")
            let positions = graph.constant((0..<(h2 * w2)).map { p -> Float in
                let (y, x) = (p / w2, p % w2)
                return y % sample == 0 && y / sample < h1 && x % sample == 0 && x / sample < w1 ? 1 : 0
            }, [1, h2, w2], "positions")
            kept = graph.node("Add", [input, graph.node("Mul", [input, graph.node("Mul", [channels, positions])])])
        }
        return graph.activation(activation, graph.node("Add", [kept, graph.scaled(added, beta)]))
    }
    var summaryFilters: String { "\(from)" }
}
