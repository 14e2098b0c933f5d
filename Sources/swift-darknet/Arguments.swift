@_spi(CLI) import Darknet
import Glibc

/// A mistake in how the command was called (exit status 2), as opposed to bad input (status 1).
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The command line after the subcommand name: `--flag`, `--option value`, and positionals.
/// Each subcommand declares which flags and options it takes; anything else is a usage error.
struct Arguments {
    private var positionals: [String] = []
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    init(_ arguments: [String], flags allowedFlags: Set<String>, options allowedOptions: Set<String>) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" {
                positionals += rest
                break
            }
            guard argument.hasPrefix("--") else {
                positionals.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if allowedFlags.contains(name), inlineValue == nil {
                flags.insert(name)
            } else if allowedOptions.contains(name) {
                guard let value = inlineValue ?? rest.popFirst() else { throw UsageError("--\(name) needs a value") }
                // An empty value (an unset shell variable, `--out ""`) names nothing: say so here,
                // or it would surface as an error located at an empty path.
                guard !value.isEmpty else { throw UsageError("--\(name) needs a value, not an empty one") }
                values[name] = value
            } else {
                throw UsageError("unknown option --\(name)")
            }
        }
        // Positionals are all file names (after `--` too): an empty one names no file.
        if positionals.contains("") { throw UsageError("an empty argument where a file name was expected") }
    }

    func flag(_ name: String) -> Bool { flags.contains(name) }

    func string(_ name: String) -> String? { values[name] }

    func int(_ name: String, in range: ClosedRange<Int> = 1...Int(Int32.max)) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("--\(name) \(text): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// The positionals named, where those in [brackets] may be left out.
    func positionals(optional names: String...) throws -> [String] {
        let required = names.filter { !$0.hasPrefix("[") }.count
        guard (required...names.count).contains(positionals.count) else {
            throw UsageError("expected \(names.joined(separator: " ")), got \(positionals.count) argument(s)")
        }
        return positionals
    }

    /// At least `count` positionals.
    func positionals(atLeast count: Int, _ names: String...) throws -> [String] {
        guard positionals.count >= count else {
            throw UsageError("expected \(names.joined(separator: " ")), got \(positionals.count) argument(s)")
        }
        return positionals
    }

    /// Exactly `names.count` positionals, in order.
    func positionals(_ names: String...) throws -> [String] {
        guard positionals.count == names.count else {
            throw UsageError("expected \(names.joined(separator: " ")), got \(positionals.count) argument(s)")
        }
        return positionals
    }
}

/// One `swift-darknet` subcommand: parsed and validated in `init`, then run.
protocol Subcommand {
    static var name: String { get }
    static var usage: String { get }
    init(_ arguments: [String]) throws
    /// Returns the exit status.
    func run() throws -> Int32
}

/// `--width`/`--height`/`--strict`/`--memory-limit`, shared by every command that reads a cfg.
struct DefinitionArguments {
    static let flags: Set<String> = ["strict"]
    static let options: Set<String> = ["width", "height", "memory-limit"]

    var options: DefinitionOptions

    init(_ arguments: Arguments) throws {
        options = DefinitionOptions(width: try arguments.int("width"), height: try arguments.int("height"),
                                    strict: arguments.flag("strict"))
        if let text = arguments.string("memory-limit") {
            options.memoryLimit = try Self.bytes(text)
        }
    }

    /// "512M", "4G", "65536" → bytes.
    static func bytes(_ text: String) throws -> Int {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        let unit = text.last.flatMap { units[Character($0.uppercased())] }
        guard let number = Int(unit == nil ? text : String(text.dropLast())), number > 0,
              !number.multipliedReportingOverflow(by: unit ?? 1).overflow else {
            throw UsageError("--memory-limit \(text): expected a size such as 512M or 4G")
        }
        return number * (unit ?? 1)
    }

    func load(_ path: String) throws -> NetworkDefinition {
        let definition = try NetworkDefinition(contentsOf: path, options: options)
        for warning in definition.warnings { printError(warning.description) }
        return definition
    }
}

/// Reads WEIGHTS for `spec` to run them. Floats that are NaN or ±inf (counted as the file is
/// read) make a warning, not an error: the file is whole, but what depends on them will be NaN.
func readWeights(_ path: String, for spec: NetworkDefinition, mapped: Bool) throws -> NetworkWeights {
    let weights = try NetworkWeights(contentsOf: path, for: spec, mapped: mapped)
    guard let (byte, layer) = firstNonFinite(in: weights) else { return weights }
    printError(Diagnostic(.warning, at: .byte(file: path, offset: byte),
                          "\(grouped(weights.nonFiniteCount)) floats are NaN or ±inf, the first in layer \(layer) [\(spec.layers[layer].typeName)]: "
                          + "what depends on them will be NaN").description)
    return weights
}

/// Where the first float that is NaN or ±inf sits: its byte offset in the file, and its layer.
func firstNonFinite(in weights: NetworkWeights) -> (byte: Int, layer: Int)? {
    guard weights.nonFiniteCount > 0, let first = weights.withFloats({ $0.firstIndex { !$0.isFinite } }),
          let layer = weights.arrayRanges.firstIndex(where: { $0.contains { $0.contains(first) } }) else { return nil }
    return (weights.header.byteCount + 4 * first, layer)
}

func printError(_ text: String) {
    writeStandardError(text + "\n")
}

func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return } // stderr is gone: nowhere left to say so
        bytes = bytes.dropFirst(written)
    }
}

/// Creates the folder `path` and any missing parents, as `mkdir -p`; a failure names the
/// folder and says why (FileManager's errors print as a CocoaError's fields).
func createDirectory(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        prefix += component
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw Diagnostic(at: .file(path), "cannot create the folder: \(String(cString: strerror(errno)))")
        }
        prefix += "/"
    }
    var status = stat()
    guard stat(path, &status) == 0 else {
        throw Diagnostic(at: .file(path), "cannot create the folder: \(String(cString: strerror(errno)))")
    }
    guard status.st_mode & S_IFMT == S_IFDIR else {
        throw Diagnostic(at: .file(path), "cannot create the folder: a file of that name is in the way")
    }
}

/// The names in the folder `path`, without `.` and `..`, in no particular order.
func folderEntries(_ path: String) throws -> [String] {
    guard let folder = opendir(path) else {
        throw Diagnostic(at: .file(path), "cannot read the folder: \(String(cString: strerror(errno)))")
    }
    defer { closedir(folder) }
    var names: [String] = []
    while let entry = readdir(folder) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// `name` in `directory` (NSString's appendingPathComponent, which FoundationEssentials lacks).
func joinedPath(_ directory: String, _ name: String) -> String {
    directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
