/// Choices a caller makes when reading a cfg.
public struct DefinitionOptions: Sendable {
    /// Overrides of `[net]` (Darknet's own yolov3.cfg says 608; 416 is the usual run size).
    public var width: Int?
    public var height: Int?
    public var channels: Int?
    /// Unknown and repeated keys are errors instead of warnings.
    public var strict: Bool
    /// No single tensor (an output, the weights of a layer, a runtime workspace) may need more
    /// bytes than this: the definition rejects outputs and weights before anything is
    /// allocated, `Network` the workspaces its per-layer plans would allocate.
    public var memoryLimit: Int
    /// The Darknet the network is computed as; nil: `Dialect.inferred`'s rule.
    public var dialect: Dialect?

    public init(width: Int? = nil, height: Int? = nil, channels: Int? = nil, strict: Bool = false,
                memoryLimit: Int = 4 << 30, dialect: Dialect? = nil) {
        self.width = width
        self.height = height
        self.channels = channels
        self.strict = strict
        self.memoryLimit = memoryLimit
        self.dialect = dialect
    }
}

/// One checked layer: what it is, where it was defined, what goes in and comes out.
public struct Layer: Sendable, Equatable {
    public let index: Int
    /// The line of its `[section]` header.
    public let line: Int
    public let spec: LayerSpec
    public let input: Shape
    /// `stopbackward=1`: training's backward pass ends before this layer (Darknet's `break`).
    public let stopsBackward: Bool
    public var output: Shape { spec.kind.output }
    public var typeName: String { spec.typeName }
    public var weightArrays: [WeightArray] { spec.kind.weightArrays }
    /// Floats stored in a weights file.
    public var storedFloats: Int { weightArrays.reduce(0) { $0 + $1.count } }
    public var parameters: Int { weightArrays.filter(\.isParameter).reduce(0) { $0 + $1.count } }
    public var parametersWithoutNorm: Int { weightArrays.filter(\.isParameterWithoutNorm).reduce(0) { $0 + $1.count } }
    public var macs: Int { spec.kind.macs }
    /// What AlexeyAB's darknet prints as the layer's BFLOPs.
    public var bflops: Double { spec.kind.bflops }
    /// The layers whose outputs this one reads.
    var sources: [Int] { spec.kind.sources(at: index) }
}

/// A cfg checked from end to end: every layer typed, every shape inferred, every reference valid.
public struct NetworkDefinition: Sendable {
    public let path: String
    public let input: Shape
    /// `[net] batch` as written (a training setting; inference picks its own batch).
    public let batch: Int
    /// `[net]`'s optimiser and learning-rate keys, which `Trainer` follows.
    public let training: TrainingOptions
    public let layers: [Layer]
    /// Unknown and repeated keys (errors instead, under `strict`).
    public let warnings: [Diagnostic]
    /// Batch-norm's formula and `[batchnorm]`'s layout, and the detector's default resize.
    public let dialect: Dialect
    public let dialectReason: Dialect.Reason
    /// `[net] letter_box` (AlexeyAB's), when given.
    public let letterBox: Bool?

    /// How the detector brings images to the input size when not told: `[net] letter_box`
    /// when given, else as the dialect's detector does.
    public var defaultResize: Resize {
        if let letterBox { return letterBox ? .letterbox : .stretch }
        return dialect == .alexeyab ? .stretch : .letterbox
    }
    /// `DefinitionOptions.memoryLimit`, which `Network` applies to the workspaces it plans.
    let memoryLimit: Int

    public init(contentsOf path: String, options: DefinitionOptions = .init()) throws {
        try self.init(cfg: CfgFile(path: path), options: options)
    }

    public init(cfg: CfgFile, options: DefinitionOptions = .init()) throws {
        path = cfg.path
        memoryLimit = options.memoryLimit
        (dialect, dialectReason) = options.dialect.map { ($0, .chosen) } ?? Dialect.inferred(from: cfg)
        var warnings: [Diagnostic] = []
        func finish(_ reader: SectionReader) throws {
            let leftovers = reader.leftovers()
            if options.strict, var first = leftovers.first {
                first.severity = .error
                throw first
            }
            warnings += leftovers
        }

        // Darknet's recurrent and other unsupported sections are named first: checking the
        // layers before one would only report a less useful error.
        if let section = cfg.sections.first(where: { LayerSpec.unsupported.contains($0.name) }) {
            throw Diagnostic(at: .line(file: path, line: section.line), "[\(section.name)] is not supported: this library does not run Darknet's [\(section.name)] layers")
        }
        let first = cfg.sections[0]
        guard first.name == "net" || first.name == "network" else {
            throw Diagnostic(at: .line(file: path, line: first.line), "the first section is [\(first.name)]; a cfg must start with [net]")
        }
        var net = SectionReader(first, path: path)
        (input, batch, training) = try Self.readNet(&net, options: options)
        letterBox = net.has("letter_box") ? try net.int("letter_box", default: 0, in: 0...1) == 1 : nil
        try finish(net)

        var layers: [Layer] = []
        for section in cfg.sections.dropFirst() {
            let here = SourceLocation.line(file: path, line: section.line)
            let context = SectionContext(index: layers.count, input: layers.last?.output ?? input,
                                       previousOutputs: layers.map(\.output), previousSpecs: layers.map(\.spec),
                                       memoryLimit: options.memoryLimit, dialect: dialect)
            var reader = SectionReader(section, path: path)
            Self.readCommonKeys(&reader)
            guard let spec = try LayerSpec.parse(section.name, &reader, context) else {
                if section.name == "net" || section.name == "network" {
                    throw Diagnostic(at: here, "[\(section.name)] must be the first section, and only once")
                }
                throw Diagnostic(at: here, "unknown section [\(section.name)]")
            }
            let stopsBackward = try Self.readLayerKeys(&reader)
            try finish(reader)
            layers.append(Layer(index: layers.count, line: section.line, spec: spec, input: context.input, stopsBackward: stopsBackward))
        }
        guard !layers.isEmpty else {
            throw Diagnostic(at: .line(file: path, line: first.line), "the cfg defines no layers after [net]")
        }
        self.layers = layers
        self.warnings = warnings
    }

    /// The keys Darknet's parser reads for every layer: `stopbackward`; the ones that change
    /// which weights are read or written, or what the truth is, are refused when set.
    private static func readLayerKeys(_ r: inout SectionReader) throws -> Bool {
        for key in ["dontload", "dontloadscales", "dontsave", "numload"] where try r.int(key, default: 0) != 0 {
            throw r.error(key, "is not supported: it changes which weights Darknet reads or writes for the layer")
        }
        if try r.bool("truth") { throw r.error("truth", "is not supported: a layer's output as the truth of the layers after it") }
        // AlexeyAB's cfgs give an iteration count (stopbackward=800: its GPU trainer freezes the
        // layers before for that many); its CPU trainer, which `step` follows, stops at any.
        return try r.int("stopbackward", default: 0, in: 0...Int(Int32.max)) != 0
    }

    private static func readNet(_ r: inout SectionReader, options: DefinitionOptions) throws -> (Shape, Int, TrainingOptions) {
        func dimension(_ key: String, _ override: Int?) throws -> Int {
            if let override {
                _ = r.string(key)
                guard override >= 1 else {
                    throw Diagnostic(at: r.location(of: key), "[\(r.name)] \(key)=\(override) given as an option: expected a value ≥ 1")
                }
                return override
            }
            guard r.has(key) else {
                throw r.error(key, "missing: [net] needs width, height and channels")
            }
            return try r.int(key, in: 1...Int(Int32.max))
        }
        let shape = Shape(channels: try dimension("channels", options.channels),
                          height: try dimension("height", options.height),
                          width: try dimension("width", options.width))
        let context = SectionContext(index: 0, input: shape, previousOutputs: [], memoryLimit: options.memoryLimit, dialect: .darknet)
        _ = try context.floats([shape.channels, shape.height, shape.width], "input", in: r)
        let batch = try r.int("batch", default: 1, in: 1...Int(Int32.max))
        r.ignore(["time_steps", "notruth", "random", "inputs", "max_ratio", "min_ratio", "clip",
                  "seq_scales", "mosaic", "blur",
                  "mixup", "cutmix", "label_smooth_eps", "track", "augment_speed"])
        let training = try TrainingOptions(&r)
        guard training.subdivisions <= batch else {
            throw r.error("subdivisions", "more than batch=\(batch): each forward pass would have no image")
        }
        return (shape, batch, training)
    }

    /// The outputs a caller gets by default (`run`, an ONNX export): yolo/region layers and the last layer.
    public var outputLayers: [Int] {
        var outputs = layers.filter { $0.spec.head != nil }.map(\.index)
        if outputs.last != layers.count - 1 { outputs.append(layers.count - 1) }
        return outputs
    }

    // MARK: Totals

    public var parameters: Int { layers.reduce(0) { $0 + $1.parameters } }
    public var parametersWithoutNorm: Int { layers.reduce(0) { $0 + $1.parametersWithoutNorm } }
    public var storedFloats: Int { layers.reduce(0) { $0 + $1.storedFloats } }
    public var macs: Int { layers.reduce(0) { $0 + $1.macs } }
    /// Darknet's BFLOPs: 2·MACs/10⁹.
    public var bflops: Double { 2 * Double(macs) / 1e9 }

    /// The keys AlexeyAB's parser reads for every layer that only affect its training: accepted
    /// (a layer that trains reads its own `learning_rate`; `readLayerKeys` reads the others).
    private static func readCommonKeys(_ r: inout SectionReader) {
        r.ignore(["clip", "onlyforward", "dont_update", "burnin_update", "train_only_bn", "learning_rate"])
    }
}
