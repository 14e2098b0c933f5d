/// How an exported model takes its input.
public struct ONNXExportOptions: Sendable, Equatable {
    public enum Batch: Sendable, Equatable {
        /// Images per run fixed in the file.
        case fixed(Int)
        /// Any number of images per run (the first dimension named `N`).
        case dynamic
    }

    public var batch: Batch
    /// The version of the default ONNX operator set the file imports.
    public var opset: Int

    public init(batch: Batch = .fixed(1), opset: Int = 17) {
        self.batch = batch
        self.opset = opset
    }

    /// The operator sets an export can target: every operator it writes is defined alike in them.
    public static let opsets: ClosedRange<Int> = 13...21

    /// The IR version that came with an operator set (onnx's versioning table).
    static func irVersion(opset: Int) -> Int {
        switch opset {
        case ...14: 7
        case 15...18: 8
        case 19...20: 9
        default: 10
        }
    }
}

extension NetworkDefinition {
    /// The network with `weights` as an ONNX model: one float32 input `input` (N, C, H, W) and
    /// the output layers (`outputLayers`), each named `layer_NNN` and equal to what `run`
    /// writes for it. Throws, naming the cfg line, for a layer ONNX cannot express.
    public func onnxModel(weights: NetworkWeights, options: ONNXExportOptions = .init()) throws -> [UInt8] {
        guard ONNXExportOptions.opsets.contains(options.opset) else {
            throw Diagnostic(at: .file(path), "opset \(options.opset): an export targets opsets \(ONNXExportOptions.opsets.lowerBound)...\(ONNXExportOptions.opsets.upperBound)")
        }
        guard weights.coveredLayers == layers.count else {
            throw Diagnostic(at: .file(path), "the weights cover \(weights.coveredLayers) of \(layers.count) layers: a prefix cannot be exported")
        }
        // Connected weights as the layers read them (outputs × inputs), as `Network` does.
        let weights = weights.header.transposedConnected ? weights.with(header: WeightsHeader(), definition: self) : weights
        var graph = ONNXGraph(first: layers[0], path: path, dialect: dialect, opset: options.opset)
        for layer in layers {
            // A layer sharing another's parameters (share_index) reads that layer's, as `Network` binds them.
            let arrays = weights.arrayRanges[layer.spec.kind.sharedParameters ?? layer.index]
            let floats = (arrays.first?.lowerBound ?? 0)..<(arrays.last?.upperBound ?? 0)
            try graph.emit(layer, parameters: weights.withFloats { Array($0[floats]) })
        }

        let batch: ONNX.Dimension
        switch options.batch {
        case .fixed(let n): batch = .value(n)
        case .dynamic: batch = .parameter("N")
        }
        func value(_ name: String, _ shape: Shape) -> ONNX.ValueInfo {
            ONNX.ValueInfo(name: name, dimensions: [batch, .value(shape.channels), .value(shape.height), .value(shape.width)])
        }
        let model = ONNX.Model(
            irVersion: ONNXExportOptions.irVersion(opset: options.opset), opset: options.opset,
            producerName: "swift-darknet",
            graph: ONNX.Graph(name: String(path.split(separator: "/").last ?? "network"), nodes: graph.nodes,
                              initializers: graph.initializers, inputs: [value(ONNXGraph.inputName, input)],
                              outputs: outputLayers.map { value(ONNXGraph.outputName($0), layers[$0].output) }))
        let bytes = model.encoded.bytes
        // Protobuf's parsers stop at 2 GiB; ONNX's external data files would lift that.
        guard bytes.count <= Int(Int32.max) else {
            throw Diagnostic(at: .file(path), "the ONNX model would take \(formatBytes(bytes.count)): protobuf files are limited to 2 GiB")
        }
        return bytes
    }

    /// Writes `onnxModel` to `path`, through a temporary file renamed into place.
    public func exportONNX(weights: NetworkWeights, to path: String, options: ONNXExportOptions = .init()) throws {
        let bytes = try onnxModel(weights: weights, options: options)
        try writeAtomically(to: path) { write in try bytes.withUnsafeBytes { try write($0) } }
    }
}
