@_spi(CLI) import Darknet
import Glibc
import FoundationEssentials

/// A mistake in how the command was called (exit status 2), as opposed to bad input (status 1).
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `-h` or `--help` among a command's arguments: its usage is printed and nothing runs.
struct HelpRequest: Error {}

/// One `--name` a command takes: a flag alone, or an option followed by a value.
struct OptionSpec {
    let name: String
    /// What the value is called in the usage (`T`, `FILE`), or nil for a flag.
    let value: String?
    let help: String

    static func flag(_ name: String, _ help: String) -> OptionSpec { OptionSpec(name: name, value: nil, help: help) }
    static func option(_ name: String, _ value: String, _ help: String) -> OptionSpec { OptionSpec(name: name, value: value, help: help) }
}

/// One positional argument: required, optional (`[WEIGHTS]`) or one or more (`IMAGE…`).
struct PositionalSpec {
    enum Count { case one, optional, oneOrMore }
    let name: String
    let count: Count
    let help: String

    init(_ name: String, _ count: Count, _ help: String) {
        (self.name, self.count, self.help) = (name, count, help)
    }

    init(_ name: String, _ help: String) { self.init(name, .one, help) }

    var synopsis: String {
        switch count {
        case .one: name
        case .optional: "[\(name)]"
        case .oneOrMore: name + "…"
        }
    }
}

/// One `swift-darknet` command, in swift-argument-parser's shape: its arguments are declared
/// once in `positionals` and `options`, which both the parser and the usage read; `init`
/// validates the parsed arguments, `run` does the work.
protocol Command {
    static var name: String { get }
    /// What the command does, in a line.
    static var abstract: String { get }
    static var positionals: [PositionalSpec] { get }
    static var options: [OptionSpec] { get }
    init(_ arguments: Arguments) throws
    /// Returns the exit status.
    func run() throws -> Int32
}

extension Command {
    /// Parses and validates `words` (the arguments after the command's name).
    static func parse(_ words: [String]) throws -> Self {
        try Self(Arguments(words, positionals: positionals, options: options))
    }

    static var synopsis: String {
        (["swift-darknet", name] + positionals.map(\.synopsis) + ["[options]"]).joined(separator: " ")
    }

    /// The usage `-h`, `--help` and `help NAME` print: a line per argument and per option.
    static var help: String {
        let helpOption = ("-h, --help", "print this help")
        let argumentRows = positionals.map { ($0.synopsis, $0.help) }
        let optionRows = options.map { ("--" + $0.name + ($0.value.map { " " + $0 } ?? ""), $0.help) } + [helpOption]
        let width = (argumentRows + optionRows).map(\.0.count).max()! + 2
        func rows(_ rows: [(String, String)]) -> String {
            rows.map { "  " + pad($0.0, -width) + $0.1 }.joined(separator: "\n")
        }
        return "usage: \(synopsis)\n\n\(abstract)\n\narguments:\n\(rows(argumentRows))\n\noptions:\n\(rows(optionRows))"
    }
}

/// A command line parsed against a command's declarations: `--flag`, `--option value` (or
/// `--option=value`) and positionals, whose count is checked. Anything else is a usage error.
struct Arguments {
    let positionals: [String]
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    init(_ arguments: [String], positionals declared: [PositionalSpec], options declaredOptions: [OptionSpec]) throws {
        let byName = Dictionary(declaredOptions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let options = arguments.prefix { $0 != "--" }
        if options.contains("-h") || options.contains("--help") { throw HelpRequest() }
        var positionals: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" {
                positionals += rest
                break
            }
            guard argument.hasPrefix("-"), argument != "-" else {
                positionals.append(argument)
                continue
            }
            guard argument.hasPrefix("--") else {
                // Darknet spells its options with one dash (`-thresh 0.25`): name ours.
                let name = String(argument.dropFirst().prefix { $0 != "=" })
                let hint = byName[name].map { "; did you mean --\($0.name)?" } ?? ""
                throw UsageError("unknown option \(argument)\(hint)")
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let option = byName[name] else {
                let hint = Self.nearest(to: name, in: declaredOptions.map(\.name)).map { "; did you mean --\($0)?" } ?? ""
                throw UsageError("unknown option --\(name)\(hint)")
            }
            guard option.value != nil else {
                guard inlineValue == nil else { throw UsageError("--\(name) takes no value") }
                flags.insert(name)
                continue
            }
            guard let value = inlineValue ?? rest.popFirst() else { throw UsageError("--\(name) needs a value") }
            // An empty value (an unset shell variable, `--out ""`) names nothing: say so here,
            // or it would surface as an error located at an empty path.
            guard !value.isEmpty else { throw UsageError("--\(name) needs a value, not an empty one") }
            values[name] = value
        }
        // Positionals are all file names (after `--` too): an empty one names no file.
        if positionals.contains("") { throw UsageError("an empty argument where a file name was expected") }
        let required = declared.filter { $0.count != .optional }.count
        let unbounded = declared.contains { $0.count == .oneOrMore }
        guard positionals.count >= required, unbounded || positionals.count <= declared.count else {
            throw UsageError("expected \(declared.map(\.synopsis).joined(separator: " ")), got \(positionals.count) argument(s)")
        }
        self.positionals = positionals
    }

    /// The declared name closest to a mistyped one (two edits at most), if any.
    static func nearest(to name: String, in names: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, y) in b.enumerated() {
                    let next = min(row[j + 1] + 1, row[j] + 1, previous + (x == y ? 0 : 1))
                    previous = row[j + 1]
                    row[j + 1] = next
                }
            }
            return row[b.count]
        }
        return names.map { ($0, distance(Array(name), Array($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
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
}

/// `--width`/`--height`/`--strict`/`--memory-limit`/`--dialect`, shared by every command that reads a cfg.
struct DefinitionArguments {
    static let options: [OptionSpec] = [
        .option("width", "W", "the network's input width instead of the cfg's width="),
        .option("height", "H", "the network's input height instead of the cfg's height="),
        .flag("strict", "make the cfg's warnings (unknown or repeated keys) errors"),
        .option("memory-limit", "SIZE", "refuse a network with a tensor larger than SIZE (512M, 4G; default \(size(DefinitionOptions().memoryLimit)))"),
        .option("dialect", "D", "compute batch-norm and read [batchnorm] as " + Dialect.allCases.map(\.rawValue).joined(separator: " or ")
                + " does (default: alexeyab if the cfg uses a section, key or activation only it reads)"),
    ]

    var options: DefinitionOptions

    init(_ arguments: Arguments) throws {
        options = DefinitionOptions(width: try arguments.int("width"), height: try arguments.int("height"),
                                    strict: arguments.flag("strict"))
        if let text = arguments.string("memory-limit") {
            options.memoryLimit = try Self.bytes(text)
        }
        if let text = arguments.string("dialect") {
            guard let dialect = Dialect(rawValue: text) else {
                throw UsageError("--dialect \(text): expected " + Dialect.allCases.map(\.rawValue).joined(separator: " or "))
            }
            options.dialect = dialect
        }
    }

    /// Bytes → "4G", "512M", "65536": the form `bytes` reads.
    static func size(_ bytes: Int) -> String {
        for (unit, scale) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes % scale == 0 { return "\(bytes / scale)\(unit)" }
        return "\(bytes)"
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

/// `--no-mmap`, for every command that reads weights to run them.
let noMmapOption = OptionSpec.flag("no-mmap", "read the weights into memory instead of mapping the file")
/// Reads WEIGHTS for `spec` to run them. Floats that are NaN or ±inf (counted as the file is
/// read) make a warning, not an error: the file is whole, but what depends on them will be NaN.
func readWeights(_ path: String, for spec: NetworkDefinition, mapped: Bool) throws -> NetworkWeights {
    let weights = try NetworkWeights(contentsOf: path, for: spec, loading: mapped ? .leasedMapping : .read)
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

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    String(decoding: try! JSONEncoder().encode(text), as: UTF8.self) // a string always encodes
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

/// Image arguments with folders expanded to their .jpg, .jpeg and .png files in name order
/// (`fromFolder` says which paths a folder gave); a folder without any is reported and counted
/// as a failed input.
func expandImageFolders(_ inputs: [String]) throws -> (paths: [String], fromFolder: Set<String>, emptyFolders: Int) {
    var emptyFolders = 0
    var fromFolder: Set<String> = []
    let paths = try inputs.flatMap { path -> [String] in
        guard Folder.isFolder(path) else { return [path] }
        let images = Folder.sorted(try Folder.entries(path)).filter(Folder.isImageName).map { Folder.join(path, $0) }
        if images.isEmpty {
            printError(Diagnostic(at: .file(path), "the folder holds no .jpg, .jpeg or .png file").description)
            emptyFolders += 1
        }
        fromFolder.formUnion(images)
        return images
    }
    return (paths, fromFolder, emptyFolders)
}
