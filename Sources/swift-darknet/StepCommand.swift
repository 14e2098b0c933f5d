@_spi(CLI) import Darknet

struct StepCommand: Command {
    static let name = "step"
    static let abstract = "Runs one training step (forward, backward, update) as Darknet's train_network_datum and saves the weights."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file"), PositionalSpec("WEIGHTS", "its .weights file")]
    static let options = [
        OptionSpec.option("input", "X.npy", "the batch, float32 (B, C, H, W) (required)"),
        .option("truth", "T.npy", "its truth, float32 (B, truths) in Darknet's layout (required)"),
        .option("out", "OUT.weights", "the weights after the step, with seen += B (required)"),
    ] + DefinitionArguments.options

    let cfg: String
    let weights: String
    let input: String
    let truth: String
    let output: String
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        (cfg, weights) = (args.positionals[0], args.positionals[1])
        guard let input = args.string("input") else { throw UsageError("--input X.npy is required") }
        guard let truth = args.string("truth") else { throw UsageError("--truth T.npy is required") }
        guard let output = args.string("out") else { throw UsageError("--out OUT.weights is required") }
        (self.input, self.truth, self.output) = (input, truth, output)
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let spec = try definition.load(cfg)
        // Read into memory, not mapped: the step writes the parameters in place.
        let network = try Network(definition: spec, weights: try readWeights(weights, for: spec, mapped: false), winograd: false)
        let trainer = try Trainer(network)
        let (batch, truths) = (try NPYFile.read(input), try NPYFile.read(truth))
        let images: Int
        do {
            images = try network.checkInput(batch)
        } catch var wrongShape as Diagnostic {
            wrongShape.location = .file(input) // the array given; the message names the cfg
            throw wrongShape
        }
        guard batch.shape.count == 4, truths.shape == [images, trainer.truthsPerImage] else {
            throw Diagnostic(at: .file(truth), "the truth has shape \(truths.shape) for an input of shape \(batch.shape); \(cfg) trains on (B, C, H, W) with truths (B, \(trainer.truthsPerImage))")
        }
        let loss = try trainer.step(input: batch, truth: truths)
        try trainer.weights.write(to: output)
        print(String(printf: "loss %.9g per image (Darknet's cost %.9g over %d images)", Double(loss), Double(loss) * Double(images), images))
        return 0
    }
}
