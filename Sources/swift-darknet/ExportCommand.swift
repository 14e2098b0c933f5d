@_spi(CLI) import Darknet

struct ExportCommand: Command {
    static let name = "export"
    static let abstract = "Writes a network and its weights as an ONNX model (for onnxruntime, OpenVINO, TensorRT…)."
    static let positionals = [
        PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("WEIGHTS", "its .weights file"),
        PositionalSpec("OUT", "the .onnx file to write (written whole or not at all)"),
    ]
    static let options = [
        OptionSpec.flag("dynamic-batch", "let the model take any number of images per run (its first dimension named N)"),
        .option("batch", "N", "images per run, fixed in the model (default 1)"),
        .option("opset", "K", "the ONNX operator set to target, \(ONNXExportOptions.opsets.lowerBound)...\(ONNXExportOptions.opsets.upperBound) (default \(ONNXExportOptions().opset))"),
        noMmapOption,
    ] + DefinitionArguments.options

    let cfg: String
    let weights: String
    let output: String
    let options: ONNXExportOptions
    let mapped: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        (cfg, weights, output) = (args.positionals[0], args.positionals[1], args.positionals[2])
        var options = ONNXExportOptions()
        if let batch = try args.int("batch", in: 1...Int(Int32.max)) {
            guard !args.flag("dynamic-batch") else { throw UsageError("--batch and --dynamic-batch exclude each other") }
            options.batch = .fixed(batch)
        } else if args.flag("dynamic-batch") {
            options.batch = .dynamic
        }
        options.opset = try args.int("opset", in: ONNXExportOptions.opsets) ?? options.opset
        self.options = options
        mapped = !args.flag("no-mmap")
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let spec = try definition.load(cfg)
        try spec.exportONNX(weights: try readWeights(weights, for: spec, mapped: mapped), to: output, options: options)
        return 0
    }
}
