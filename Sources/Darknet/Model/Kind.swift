/// What one kind of layer declares about a checked section of it. A kind is a struct in its
/// own file under Model/ (its section names, keys and checks, output shape, the layers it
/// reads, its parameter arrays by role, its summary columns), whose `plan` and forward pass
/// live in its Runtime/ file, plus a case of `LayerSpec`. Its ONNX emitter is one requirement
/// here (a backward pass will be one of `LayerPlan`): the compiler lists every kind that must
/// answer it; docs/ARCHITECTURE.md has the steps.
protocol Kind: Sendable, Equatable {
    /// The section name Darknet prints for this kind first, then the aliases it accepts.
    static var sectionNames: [String] { get }
    /// Reads and checks the section's keys against what comes before it.
    init(_ r: inout SectionReader, _ context: SectionContext) throws
    /// This kind as a case of the closed set.
    var spec: LayerSpec { get }
    var output: Shape { get }
    /// The layers whose outputs the layer at `index` reads; the first layer reads the input.
    func sources(at index: Int) -> [Int]
    /// The float arrays this layer stores in a weights file, in file order: the one
    /// description of both the file's layout and the runtime's pointers into it.
    var weightArrays: [WeightArray] { get }
    /// Adds the ONNX nodes that compute the layer to `graph` (its arrays taken with
    /// `graph.take(weightArrays)`) and returns the value holding its output, equal to what its
    /// forward pass writes; throws `graph.error` for what ONNX cannot express.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String
    /// Binds the layer to its parameters and makes the runtime's choices for it (Runtime/).
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan
    /// Multiply-adds of one forward pass for one image.
    var macs: Int { get }
    /// The earlier layer whose stored parameters this one binds instead of storing its own
    /// (AlexeyAB's `share_index`); nil for a layer that stores its own.
    var sharedParameters: Int? { get }
    /// The billions of operations AlexeyAB's darknet prints for the layer ("BF").
    var bflops: Double { get }
    /// The summary's "filters" and "size/stride" columns.
    var summaryFilters: String { get }
    var summarySize: String { get }
}

extension Kind {
    static var typeName: String { sectionNames[0] }
    // Counted and printed only: a kind without multiply-adds or summary columns leaves them out.
    var macs: Int { 0 }
    var sharedParameters: Int? { nil }
    /// Two operations a multiply-add; pooling layers count their own.
    var bflops: Double { 2 * Double(macs) / 1e9 }
    var summaryFilters: String { "" }
    var summarySize: String { "" }
}

/// The layer just before `index`, which most kinds read (none for the first: it reads the input).
func previousLayer(_ index: Int) -> [Int] { index == 0 ? [] : [index - 1] }

/// What a section needs to know about the network before it: its index, its input, the
/// outputs of all earlier layers (for route and shortcut), and the memory limit.
struct SectionContext {
    let index: Int
    let input: Shape
    let previousOutputs: [Shape]
    /// The kinds of the earlier layers (for share_index).
    var previousSpecs: [LayerSpec] = []
    let memoryLimit: Int
    /// Decides the layout of `[batchnorm]`'s parameters.
    let dialect: Dialect

    /// Resolves a `layers=`/`from=` reference: negative values count back from this layer.
    func resolve(_ reference: Int, key: String, in reader: SectionReader) throws -> Int {
        let absolute = reference < 0 ? index + reference : reference
        if absolute < 0 {
            throw reader.error(key, "layer \(reference) points before layer 0 (this is layer \(index))")
        }
        if absolute >= index {
            throw reader.error(key, "layer \(reference) is not an earlier layer (this is layer \(index)); only earlier layers can be referenced")
        }
        return absolute
    }

    /// The one earlier layer `from=` names (scale_channels, sam); `what` says what it is for.
    func singleFrom(_ r: inout SectionReader, _ what: String) throws -> Int {
        guard let reference = try r.ints("from"), reference.count == 1 else {
            throw r.error("from", r.has("from") ? "expected one layer" : "missing: [\(r.name)] needs \(what)")
        }
        return try resolve(reference[0], key: "from", in: r)
    }

    /// The number of floats in a tensor of these dimensions, rejected (before anything is
    /// allocated) when it overflows or exceeds the memory limit.
    func floats(_ dimensions: [Int], _ what: String, in reader: SectionReader) throws -> Int {
        var total = 1
        for dimension in dimensions {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= memoryLimit / MemoryLayout<Float>.size else {
                let shape = dimensions.map(String.init).joined(separator: "×")
                throw Diagnostic(at: reader.location, "[\(reader.name)] \(what) \(shape) would need more than the memory limit of \(formatBytes(memoryLimit))")
            }
            total = product
        }
        return total
    }

    func checkShape(_ shape: Shape, in reader: SectionReader) throws {
        guard shape.channels >= 1, shape.height >= 1, shape.width >= 1 else {
            throw Diagnostic(at: reader.location, "[\(reader.name)] output would be \(shape) for input \(input): every dimension must be at least 1")
        }
        _ = try floats([shape.channels, shape.height, shape.width], "output", in: reader)
    }
}

func formatBytes(_ bytes: Int) -> String {
    let gib = Double(bytes) / Double(1 << 30)
    if gib >= 1 { return "\((gib * 10).rounded() / 10) GiB" }
    return "\((Double(bytes) / Double(1 << 20) * 10).rounded() / 10) MiB"
}
