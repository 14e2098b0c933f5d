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
    var summaryFilters: String { "\(from)" }
}
