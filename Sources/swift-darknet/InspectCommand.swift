@_spi(CLI) import Darknet
import Glibc

struct InspectCommand: Command {
    static let name = "inspect"
    static let abstract = "Checks how a weights file fits a cfg: the verdict, then each layer's float offset and count."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("WEIGHTS", "the Darknet .weights file to check")]
    static let options = [
        OptionSpec.flag("prefix", "accept a file that ends at a layer boundary (pretrained backbone weights)"),
        .flag("json", "print the verdict, the header and the layers as JSON"),
        noMmapOption,
    ] + DefinitionArguments.options

    let cfg: String
    let weights: String
    let allowPrefix: Bool
    let json: Bool
    let mapped: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        (cfg, weights) = (args.positionals[0], args.positionals[1])
        allowPrefix = args.flag("prefix")
        json = args.flag("json")
        mapped = !args.flag("no-mmap")
        definition = try DefinitionArguments(args)
    }

    /// The verdict comes first, then what else the file would fit, then the per-layer table.
    /// Exit status 0 only for an exact fit (or, with --prefix, a file ending at a layer boundary).
    func run() throws -> Int32 {
        let network = try definition.load(cfg)
        let fit = try WeightsFit(contentsOf: weights, for: network)
        var verdict: [(String, String)] = [("needed_floats", "\(fit.neededFloats)"), ("available_floats", "\(fit.availableFloats)")]
        var lines: [String] = []
        var status: Int32 = 1
        func checkNonFinite(_ loaded: NetworkWeights) -> String {
            guard let (byte, layer) = firstNonFinite(in: loaded) else { return "" }
            verdict += [("non_finite_floats", "\(loaded.nonFiniteCount)"), ("first_non_finite_byte", "\(byte)")]
            return "; \(grouped(loaded.nonFiniteCount)) of them not finite (NaN or ±inf), the first at byte \(byte) in layer \(layer) [\(network.layers[layer].typeName)]"
        }
        switch fit.verdict {
        case .exact:
            let loaded = try NetworkWeights(contentsOf: weights, for: network, loading: mapped ? .leasedMapping : .read)
            verdict.insert(("fit", "\"exact\""), at: 0)
            lines.append("verdict: exact fit, \(grouped(fit.neededFloats)) floats\(checkNonFinite(loaded))")
            status = 0
        case .short(let missing, let layer):
            verdict = [("fit", "\"short\""), ("missing_floats", "\(missing)"), ("first_short_layer", "\(layer)")] + verdict
            if let prefix = fit.prefixLayers {
                verdict.append(("prefix_layers", "\(prefix)"))
                if allowPrefix {
                    let loaded = try NetworkWeights(contentsOf: weights, for: network, allowPrefix: true, loading: mapped ? .leasedMapping : .read)
                    verdict[0].1 = "\"prefix\""
                    lines.append("verdict: prefix fit, layers 0..<\(prefix) (\(grouped(fit.availableFloats)) floats)\(checkNonFinite(loaded))")
                    status = 0
                } else {
                    lines.append("verdict: short by \(grouped(missing)) floats from layer \(layer) on; the file ends at a layer boundary (a prefix of \(prefix) layers: use --prefix)")
                }
            } else {
                lines.append("verdict: short by \(grouped(missing)) floats from layer \(layer) on")
                lines.append("  " + boundary(fit, network, shortLayer: layer))
            }
        case .extra(let bytes):
            verdict = [("fit", "\"extra\""), ("extra_bytes", "\(bytes)")] + verdict
            lines.append("verdict: \(grouped(bytes)) extra bytes after the last layer")
        }
        if status != 0 {
            let nearest = fit.nearestBoundary
            verdict.append(("nearest_boundary", "{\"layers\": \(nearest.layers), \"float_offset\": \(nearest.floatOffset)}"))
            let alternatives = fit.alternatives(in: try CfgFile(path: cfg), options: definition.options)
            if let (classes, filters) = alternatives.classes {
                verdict.append(("fits_classes", "{\"classes\": \(classes), \"filters\": \(filters)}"))
                let heads = Set(network.layers.map(\.typeName)).intersection(["yolo", "region"]).sorted().map { "[\($0)]" }.joined(separator: "/")
                let filterText = Set(filters).count == 1 ? "filters=\(filters[0])" : "filters=" + filters.map(String.init).joined(separator: ",")
                lines.append("  it fits classes=\(classes) (\(filterText) in the convolution before each \(heads)): weights for another class count")
            } else if alternatives.classesComputable {
                lines.append("  no other classes= makes it fit")
            }
            if let size = alternatives.inputSize {
                verdict.append(("fits_input_size", "[\(size), \(size)]"))
                lines.append("  it fits an input of \(size)×\(size) (--width \(size) --height \(size))")
            } else if alternatives.inputSizeMatters {
                lines.append("  no square input size up to \(WeightsFit.Alternatives.largestSearchedSize) makes it fit")
            } else {
                lines.append("  no input size changes it: no layer's weights depend on the input size")
            }
        }
        if json {
            let header = fit.header
            let layers = network.layers.map { layer in
                "{\"index\": \(layer.index), \"type\": \"\(layer.typeName)\", \"float_offset\": \(fit.offsets[layer.index]), \"floats\": \(fit.counts[layer.index])}"
            }
            print("{\"verdict\": {" + verdict.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}, "
                  + "\"header\": {\"version\": \"\(header.version)\", \"seen\": \(header.seen), \"bytes\": \(header.byteCount)}, "
                  + "\"dialect\": {\"name\": \"\(network.dialect.rawValue)\", \"reason\": \(jsonString(network.dialectReason.description))}, "
                  + "\"layers\": [" + layers.joined(separator: ", ") + "]}")
            return status
        }
        for line in lines { print(line) }
        print("header: \(fit.header)")
        print("dialect: \(network.dialect.rawValue) (\(network.dialectReason))")
        print("layer  type            float offset      floats")
        for layer in network.layers {
            let row = [pad(String(layer.index), 5), pad(layer.typeName, -14), pad(grouped(fit.offsets[layer.index]), 12),
                       pad(grouped(fit.counts[layer.index]), 10)]
            print(row.joined(separator: "  "))
        }
        return status
    }

    /// Where a short file ends inside `shortLayer`, and the layer boundary nearest to that.
    private func boundary(_ fit: WeightsFit, _ network: NetworkDefinition, shortLayer layer: Int) -> String {
        let available = fit.availableFloats
        let nearest = fit.nearestBoundary
        let place = nearest.layers < network.layers.count ? "the start of layer \(nearest.layers) [\(network.layers[nearest.layers].typeName)]" : "the end of the last layer"
        let distance = nearest.floatOffset - available
        return "the file ends \(grouped(available - fit.offsets[layer])) floats into layer \(layer) [\(network.layers[layer].typeName)] (of its \(grouped(fit.counts[layer]))); "
            + "the nearest layer boundary is \(place), \(grouped(abs(distance))) floats \(distance < 0 ? "before" : "after") the file's end"
    }
}

struct ConvertCommand: Command {
    static let name = "convert"
    static let abstract = "Rewrites a weights file for a cfg: cut after N layers, a new header version, seen reset."
    static let positionals = [
        PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("IN", "the .weights file to read"),
        PositionalSpec("OUT", "the .weights file to write (never IN; written whole or not at all)"),
    ]
    static let options = [
        OptionSpec.option("cutoff", "N", "keep only the first N layers' weights (Darknet's partial)"),
        .flag("reset-seen", "set the header's count of images seen to 0"),
        .option("version", "M.m.r", "write this header version (a 0.1 header has a 32-bit seen)"),
        .flag("prefix", "accept an IN that ends at a layer boundary"),
    ] + DefinitionArguments.options

    let cfg: String
    let input: String
    let output: String
    let cutoff: Int?
    let resetSeen: Bool
    let version: (Int32, Int32, Int32)?
    let allowPrefix: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        (cfg, input, output) = (args.positionals[0], args.positionals[1], args.positionals[2])
        cutoff = try args.int("cutoff")
        resetSeen = args.flag("reset-seen")
        allowPrefix = args.flag("prefix")
        if let text = args.string("version") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { Int32($0) }
            guard parts.count == 3, parts.allSatisfy({ (0...9_999).contains($0) }) else {
                throw UsageError("--version \(text): expected MAJOR.MINOR.REVISION, each 0...9999")
            }
            version = (parts[0], parts[1], parts[2])
        } else {
            version = nil
        }
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let network = try definition.load(cfg)
        if let inputPath = realpath(input, nil), let outputPath = realpath(output, nil) {
            defer { free(inputPath); free(outputPath) }
            if strcmp(inputPath, outputPath) == 0 {
                throw Diagnostic(at: .file(output), "OUT is the input file: convert never writes over its input")
            }
        }
        var weights = try NetworkWeights(contentsOf: input, for: network, allowPrefix: allowPrefix)
        if let cutoff, cutoff > weights.coveredLayers {
            throw Diagnostic(at: .file(input), "--cutoff \(cutoff): the weights cover only \(weights.coveredLayers) layers")
        }
        var header = weights.header
        if let (major, minor, revision) = version {
            (header.major, header.minor, header.revision) = (major, minor, revision)
        }
        if resetSeen { header.seen = 0 }
        weights = weights.with(header: header, definition: network)
        try weights.write(to: output, layers: cutoff)
        return 0
    }
}

/// Right-aligns in `width` columns, or left-aligns for a negative width.
func pad(_ text: String, _ width: Int) -> String {
    let fill = String(repeating: " ", count: max(0, abs(width) - text.count))
    return width < 0 ? text + fill : fill + text
}
