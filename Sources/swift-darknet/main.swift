import Darknet
import Foundation

enum CLI {
    static var subcommands: [any Subcommand.Type] { [
        SummaryCommand.self, InspectCommand.self, ConvertCommand.self, InitCommand.self, RunCommand.self, BenchCommand.self, DetectCommand.self,
    ] }
}

func usage() -> String {
    "usage: swift-darknet <command> …\n" + CLI.subcommands.map { "  swift-darknet " + $0.usage }.joined(separator: "\n")
}

/// Exit statuses: 0 success, 1 bad input (a diagnostic), 2 a usage mistake.
func main(_ arguments: [String]) -> Int32 {
    guard let name = arguments.first, name != "--help", name != "-h", name != "help" else {
        print(usage())
        return arguments.isEmpty ? 2 : 0
    }
    guard let command = CLI.subcommands.first(where: { $0.name == name }) else {
        printError("swift-darknet: unknown command '\(name)'\n" + usage())
        return 2
    }
    do {
        return try command.init(Array(arguments.dropFirst())).run()
    } catch let error as UsageError {
        printError("swift-darknet \(name): \(error)\nusage: swift-darknet \(command.usage)")
        return 2
    } catch let error as Diagnostic {
        printError(error.description)
        return 1
    } catch {
        printError("swift-darknet \(name): error: \(error)")
        return 1
    }
}

exit(main(Array(CommandLine.arguments.dropFirst())))
