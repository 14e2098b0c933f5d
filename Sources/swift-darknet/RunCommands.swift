@_spi(CLI) import Darknet
import Dispatch
import FoundationEssentials

struct InitCommand: Command {
    static let name = "init"
    static let abstract = "Writes random weights for a cfg, to try a network without trained weights."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("OUT", "the .weights file to write")]
    static let options = [OptionSpec.option("seed", "S", "the random seed (default \(defaultSeed)): the same seed gives the same file")] + DefinitionArguments.options

    static let defaultSeed = 1

    let cfg: String
    let output: String
    let seed: UInt64
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        (cfg, output) = (args.positionals[0], args.positionals[1])
        seed = UInt64(try args.int("seed", in: 0...Int(Int64.max)) ?? Self.defaultSeed)
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let network = try definition.load(cfg)
        try RandomWeights.make(for: network, seed: seed).write(to: output)
        return 0
    }
}

struct RunCommand: Command {
    static let name = "run"
    static let abstract = "Runs an input array through a network and saves layer outputs as .npy files."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("WEIGHTS", "its .weights file")]
    static let options = [
        OptionSpec.option("input", "FILE.npy", "the input, float32 (C, H, W) or a batch (N, C, H, W) (required)"),
        .option("out", "DIR", "the folder to write layer_NNN.npy files to (required)"),
        .option("layers", "all|outputs", "save every layer's output, or only the network's outputs (default)"),
        .flag("no-winograd", "run 3×3 convolutions as matrix products only"),
        .flag("no-direct", "run convolutions through im2col and matrix products, not the direct AVX-512 kernel"),
        noMmapOption,
    ] + DefinitionArguments.options

    let cfg: String
    let weights: String
    let input: String
    let allLayers: Bool
    let outputDirectory: String
    let winograd: Bool
    let directConvolution: Bool
    let mapped: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        (cfg, weights) = (args.positionals[0], args.positionals[1])
        guard let input = args.string("input") else { throw UsageError("--input FILE.npy is required") }
        guard let out = args.string("out") else { throw UsageError("--out DIR is required") }
        self.input = input
        outputDirectory = out
        switch args.string("layers") ?? "outputs" {
        case "all": allLayers = true
        case "outputs": allLayers = false
        case let other: throw UsageError("--layers \(other): expected all or outputs")
        }
        winograd = !args.flag("no-winograd")
        directConvolution = !args.flag("no-direct")
        mapped = !args.flag("no-mmap")
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let spec = try definition.load(cfg)
        let network = try Network(definition: spec, weights: try readWeights(weights, for: spec, mapped: mapped), winograd: winograd,
                                  directConvolution: directConvolution)
        let tensor = try NPYFile.read(input)
        let batch: Int
        do {
            batch = try network.checkInput(tensor)
        } catch var wrongShape as Diagnostic {
            wrongShape.location = .file(input) // the array given; the message names the cfg
            throw wrongShape
        }
        try createDirectory(outputDirectory)
        let context = InferenceContext(network, batch: batch, keepAll: allLayers)
        tensor.data.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) }
        for layer in context.keptLayers.sorted() {
            try NPYFile.write(context.tensor(of: layer), to: Folder.join(outputDirectory, String(printf: "layer_%03d.npy", layer)))
        }
        return 0
    }
}

struct BenchCommand: Command {
    static let name = "bench"
    static let abstract = "Times forward passes of a network (random weights unless WEIGHTS is given)."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("WEIGHTS", .optional, "its .weights file (random weights without it)")]
    static let options = [
        OptionSpec.option("runs", "N", "timed runs after one warm-up (default \(defaultRuns))"),
        .option("batch", "B", "images per forward pass (default 1)"),
        .option("threads", "T", "OpenBLAS threads (default: OpenBLAS's choice)"),
        .flag("json", "print the timings as JSON"),
        .flag("layers", "time each layer too and print a table of them"),
        .flag("no-winograd", "run 3×3 convolutions as matrix products only"),
        .flag("no-direct", "run convolutions through im2col and matrix products, not the direct AVX-512 kernel"),
        .flag("train", "time a training step's phases (forward in training mode, backward, update) beside the forward pass, on a made-up truth"),
        noMmapOption,
    ] + DefinitionArguments.options

    static let defaultRuns = 10

    let cfg: String
    let weights: String?
    let runs: Int
    let batch: Int
    let threads: Int?
    let json: Bool
    let perLayer: Bool
    let winograd: Bool
    let directConvolution: Bool
    let train: Bool
    let mapped: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        let paths = args.positionals
        cfg = paths[0]
        weights = paths.count > 1 ? paths[1] : nil
        runs = try args.int("runs", in: 1...10_000) ?? Self.defaultRuns
        batch = try args.int("batch", in: 1...4096) ?? 1
        threads = try args.int("threads", in: 1...1024)
        json = args.flag("json")
        perLayer = args.flag("layers")
        winograd = !args.flag("no-winograd")
        directConvolution = !args.flag("no-direct")
        train = args.flag("train")
        if train && perLayer { throw UsageError("--train times a step's phases, not layers: pass one of --train and --layers") }
        mapped = !args.flag("no-mmap")
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        if let threads { BLAS.threads = threads }
        let spec = try definition.load(cfg)
        if train { return try runTraining(spec) }
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let loaded = try weights.map { try readWeights($0, for: spec, mapped: mapped) }
        let loadMilliseconds = loaded.map { _ in Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6 }
        let loadedMapped = loaded?.isMapped ?? false // as loaded: a writer opening the file later makes it a copy
        let network = try Network(definition: spec, weights: loaded ?? RandomWeights.make(for: spec), winograd: winograd,
                                  directConvolution: directConvolution)
        let context = InferenceContext(network, batch: batch)
        let input = [Float](repeating: 0.5, count: spec.input.count * batch)
        var times: [Double] = []
        var layerTimes = Array(repeating: [Double](), count: spec.layers.count)
        input.withUnsafeBufferPointer { pointer in
            context.forward(pointer.baseAddress!) // warm-up
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                context.forward(pointer.baseAddress!)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            guard perLayer else { return }
            context.layerSeconds = Array(repeating: 0, count: spec.layers.count)
            for _ in 0..<runs {
                context.forward(pointer.baseAddress!)
                for (index, seconds) in context.layerSeconds!.enumerated() { layerTimes[index].append(seconds) }
            }
        }
        if perLayer && !json {
            print("layer  type                  ms   GFLOP/s")
            for (layer, samples) in zip(spec.layers, layerTimes) {
                let seconds = samples.sorted()[samples.count / 2]
                let rate = layer.macs > 0 ? String(printf: "%9.1f", 2 * Double(layer.macs * batch) / seconds / 1e9) : ""
                let method = network.methods[layer.index].isEmpty ? "" : "  " + network.methods[layer.index]
                print(pad(String(layer.index), 5) + "  " + pad(layer.typeName, -14) + String(printf: " %9.3f ", seconds * 1e3) + rate + method)
            }
        }
        let median = times.sorted()[times.count / 2]
        // The best run too: on a shared machine it is the one least disturbed by other tenants.
        let best = times.min()!
        let gflops = 2 * Double(spec.macs) * Double(batch) / (median / 1e3) / 1e9
        if json {
            print(#"{"median_ms": \#(median), "min_ms": \#(best), "gflops": \#(gflops), "threads": \#(BLAS.threads), "blas_core": "\#(BLAS.coreName)", "worker_spin": \#(BLAS.workerSpin.map(String.init) ?? "null"), "batch": \#(batch), "runs": \#(runs), "context_bytes": \#(context.bytes), "load_ms": \#(loadMilliseconds.map { "\($0)" } ?? "null"), "weights_mapped": \#(loadedMapped), "cpu": \#(String(decoding: try! JSONEncoder().encode(Processor.current.name), as: UTF8.self)), "cpu_family": \#(Processor.current.family), "cpu_model": \#(Processor.current.model), "cpu_kernels": "\#(Processor.current.kernels.instructions)", "blas_core_origin": "\#(OpenBLASCoreOrigin.current.jsonName)", "dialect": "\#(spec.dialect.rawValue)", "dialect_reason": \#(jsonString(spec.dialectReason.description))}"#)
        } else {
            let spin = BLAS.workerSpin.map { " (idle ones spin 2^\($0) cycles)" } ?? ""
            print(String(printf: "median %.2f ms (best %.2f) over %d runs, batch %d, %.1f GFLOP/s, ", median, best, runs, batch, gflops)
                  + "OpenBLAS \(BLAS.coreName) with \(BLAS.threads) threads\(spin), " + String(printf: "%.1f MB of activations and workspace", Double(context.bytes) / 1e6))
            let cpu = Processor.current
            print("dialect \(spec.dialect.rawValue) (\(spec.dialectReason))")
            print("CPU \(cpu.name) (family \(cpu.family) model \(cpu.model), \(cpu.kernels.instructions)); OpenBLAS \(BLAS.coreName) \(OpenBLASCoreOrigin.current.description)")
            if let loadMilliseconds {
                print("weights \(loadedMapped ? "mapped" : "read") and checked in " + String(printf: "%.1f ms", loadMilliseconds))
            }
        }
        return 0
    }
}
