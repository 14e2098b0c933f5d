/// Darknet's layer table plus the totals thop and torchsummaryX print, for people and scripts.
public struct NetworkSummary: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var index: Int
        public var type: String
        public var filters: String
        public var size: String
        /// [C, H, W]
        public var input: [Int]
        public var output: [Int]
        public var params: Int
        public var macs: Int
        /// AlexeyAB's per-layer count: 2·MACs, or size²·C per output pixel for pooling.
        public var bflops: Double
    }

    public struct Totals: Codable, Sendable {
        public var params: Int
        public var paramsWithoutNorm: Int
        public var storedFloats: Int
        public var macs: Int
        public var bflops: Double

        // The JSON keys thop and torchsummaryX users read.
        enum CodingKeys: String, CodingKey {
            case params, macs, bflops
            case paramsWithoutNorm = "params_without_bn"
            case storedFloats = "stored_floats"
        }
    }

    public var layers: [Row]
    public var totals: Totals

    public init(_ definition: NetworkDefinition) {
        func dims(_ s: Shape) -> [Int] { [s.channels, s.height, s.width] }
        layers = definition.layers.map { layer in
            Row(index: layer.index, type: layer.typeName, filters: layer.spec.kind.summaryFilters,
                size: layer.spec.kind.summarySize, input: dims(layer.input), output: dims(layer.output),
                params: layer.parameters, macs: layer.macs, bflops: layer.bflops)
        }
        totals = Totals(params: definition.parameters, paramsWithoutNorm: definition.parametersWithoutNorm,
                        storedFloats: definition.storedFloats, macs: definition.macs, bflops: definition.bflops)
    }

    /// The table as Darknet prints it when it loads a network, with our two count columns.
    public var table: String {
        func shape(_ d: [Int]) -> String { "\(d[0])×\(d[1])×\(d[2])" }
        let header = ["layer", "type", "filters", "size", "input", "output", "params", "MACs"]
        var rows = layers.map { row in
            [String(row.index), row.type, row.filters, row.size, shape(row.input), shape(row.output),
             grouped(row.params), grouped(row.macs)]
        }
        rows.insert(header, at: 0)
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let rightAligned: Set<Int> = [0, 6, 7]
        var text = rows.map { row in
            row.indices.map { column in
                let pad = String(repeating: " ", count: widths[column] - row[column].count)
                return rightAligned.contains(column) ? pad + row[column] : row[column] + pad
            }.joined(separator: "  ")
        }.joined(separator: "\n")
        text += "\n\nparameters:             \(grouped(totals.params))"
        text += "\nparameters without BN:  \(grouped(totals.paramsWithoutNorm))"
        text += "\nfloats in weights file: \(grouped(totals.storedFloats))"
        text += "\nmultiply-adds:          \(grouped(totals.macs))"
        text += "\nBFLOPs:                 \(String(printf: "%.3f", totals.bflops))\n"
        return text
    }
}

/// 61949149 → "61,949,149". For the library's tables and its CLI, not for users.
@_spi(CLI) public func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
}
