import Darknet
import Glibc

struct InspectCommand: Command {
    static let name = "inspect"
    static let abstract = "Checks how a weights file fits a cfg: the verdict, then each layer's float offset and count."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("WEIGHTS", "the Darknet .weights file to check")]
    static let options = [
        OptionSpec.flag("prefix", "accept a file that ends at a layer boundary (pretrained backbone weights)"),
        noMmapOption,
    ] + DefinitionArguments.options

    let cfg: String
    let weights: String
    let allowPrefix: Bool
    let mapped: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        (cfg, weights) = (args.positionals[0], args.positionals[1])
        allowPrefix = args.flag("prefix")
        mapped = !args.flag("no-mmap")
        definition = try DefinitionArguments(args)
    }

    /// Exit status 0 only for an exact fit (or, with --prefix, a file ending at a layer boundary).
    func run() throws -> Int32 {
        let network = try definition.load(cfg)
        let fit = try WeightsFit(contentsOf: weights, for: network)
        print("header: \(fit.header)")
        print("layer  type            float offset      floats")
        for layer in network.layers {
            let row = [pad(String(layer.index), 5), pad(layer.typeName, -14), pad(grouped(fit.offsets[layer.index]), 12),
                       pad(grouped(fit.counts[layer.index]), 10)]
            print(row.joined(separator: "  "))
        }
        switch fit.verdict {
        case .exact:
            let loaded = try NetworkWeights(contentsOf: weights, for: network, mapped: mapped)
            print("verdict: exact fit, \(grouped(fit.neededFloats)) floats\(nonFinite(loaded, network))")
            return 0
        case .short(let missing, let layer):
            if let prefix = fit.prefixLayers {
                if allowPrefix {
                    let loaded = try NetworkWeights(contentsOf: weights, for: network, allowPrefix: true, mapped: mapped)
                    print("verdict: prefix fit, layers 0..<\(prefix) (\(grouped(fit.availableFloats)) floats)\(nonFinite(loaded, network))")
                    return 0
                }
                print("verdict: short by \(grouped(missing)) floats from layer \(layer) on; the file ends at a layer boundary (a prefix of \(prefix) layers: use --prefix)")
            } else {
                print("verdict: short by \(grouped(missing)) floats from layer \(layer) on")
            }
        case .extra(let bytes):
            print("verdict: \(grouped(bytes)) extra bytes after the last layer")
        }
        return 1
    }

    private func nonFinite(_ weights: NetworkWeights, _ network: NetworkDefinition) -> String {
        guard let (byte, layer) = firstNonFinite(in: weights) else { return "" }
        return "; \(grouped(weights.nonFiniteCount)) of them not finite (NaN or ±inf), the first at byte \(byte) in layer \(layer) [\(network.layers[layer].typeName)]"
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
