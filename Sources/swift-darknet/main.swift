import Darknet
import FoundationEssentials
import Glibc

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

// The CLI runs networks, which alternate GEMMs with passes of their own over the cores: OpenBLAS's
// workers should not spin for long between them (see `BLAS.workerSpin`). 2^20 cycles (about 0.4
// ms) against OpenBLAS's 2^28, 8 alternating rounds: yolov3-tiny 0.90–0.92× the time, yolov3
// 0.96×, darknet53 @256 0.94×, yolov3-tiny at batch 4 0.93×; 2^16 and 2^24 did worse. A value
// the user set in OPENBLAS_THREAD_TIMEOUT wins.
chooseOpenBLASCore()
if ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil {
    BLAS.workerSpin = 20
}
exit(main(Array(CommandLine.arguments.dropFirst())))
