import Darknet
import FoundationEssentials
import Glibc

enum CLI {
    static let version = "0.1.0"

    static var commands: [any Command.Type] { [
        SummaryCommand.self, InspectCommand.self, ConvertCommand.self, InitCommand.self, RunCommand.self, BenchCommand.self, DetectCommand.self, ClassifyCommand.self, StepCommand.self, TrainCommand.self, ExportCommand.self,
    ] }

    static var usage: String {
        let rows = commands.map { command in (command.name, command.abstract) }
        let width = rows.map { $0.0.count }.max()! + 2
        return "usage: swift-darknet COMMAND ARGUMENTS… [options]\n\ncommands:\n"
            + rows.map { "  " + pad($0.0, -width) + $0.1 }.joined(separator: "\n")
            + "\n\n'swift-darknet help COMMAND' (or COMMAND --help) lists a command's arguments and options;"
            + "\n'swift-darknet --version' prints the version."
    }
}

/// Exit statuses: 0 success, 1 bad input (a diagnostic), 2 a usage mistake.
func main(_ arguments: [String]) -> Int32 {
    guard var name = arguments.first else {
        printError(CLI.usage)
        return 2
    }
    var words = Array(arguments.dropFirst())
    switch name {
    case "-h", "--help":
        print(CLI.usage)
        return 0
    case "--version":
        print("swift-darknet \(CLI.version)")
        return 0
    case "help":
        guard let topic = words.first else {
            print(CLI.usage)
            return 0
        }
        (name, words) = (topic, ["--help"])
    default:
        break
    }
    guard let command = CLI.commands.first(where: { $0.name == name }) else {
        printError("swift-darknet: unknown command '\(name)'\n" + CLI.usage)
        return 2
    }
    do {
        return try command.parse(words).run()
    } catch is HelpRequest {
        print(command.help)
        return 0
    } catch let error as UsageError {
        printError("swift-darknet \(name): \(error)\nusage: \(command.synopsis)\n'swift-darknet help \(name)' lists the options")
        return 2
    } catch let error as Diagnostic {
        printError(error.description)
        return 1
    } catch {
        printError("swift-darknet \(name): error: \(error)")
        return 1
    }
}

// OpenBLAS chose its kernels when it was loaded: start again with better ones where it fell back.
chooseOpenBLASCore()
// The CLI runs networks, which alternate GEMMs with passes of their own over the cores: OpenBLAS's
// workers should not spin long between them (see `BLAS.workerSpin`; docs/performance.md has
// the choice of 2^20 cycles). A value the user set in OPENBLAS_THREAD_TIMEOUT wins.
if ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil {
    BLAS.workerSpin = 20
}
exit(main(Array(CommandLine.arguments.dropFirst())))
