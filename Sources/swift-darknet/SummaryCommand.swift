import Darknet
import FoundationEssentials

struct SummaryCommand: Subcommand {
    static let name = "summary"
    static let usage = "summary CFG [--width W --height H] [--json] [--strict]"

    let cfg: String
    let json: Bool
    let definition: DefinitionArguments

    init(_ arguments: [String]) throws {
        let args = try Arguments(arguments, flags: DefinitionArguments.flags.union(["json"]), options: DefinitionArguments.options)
        cfg = try args.positionals("CFG")[0]
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
