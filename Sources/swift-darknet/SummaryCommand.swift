import Darknet
import FoundationEssentials

struct SummaryCommand: Command {
    static let name = "summary"
    static let abstract = "Prints a cfg's layers (shapes, parameters, multiply-adds) and its totals."
    static let positionals = [PositionalSpec("CFG", "the network's Darknet .cfg file")]
    static let options = [OptionSpec.flag("json", "print the layers and totals as JSON")] + DefinitionArguments.options

    let cfg: String
    let json: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        cfg = args.positionals[0]
        json = args.flag("json")
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let summary = NetworkSummary(try definition.load(cfg))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(summary.table, terminator: "")
        }
        return 0
    }
}
