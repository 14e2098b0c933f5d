import FoundationEssentials

/// One `key=value` line of a cfg section.
public struct CfgEntry: Sendable, Equatable {
    public var key: String
    public var value: String
    public var line: Int
}

/// One `[name]` section with its entries, in file order.
public struct CfgSection: Sendable, Equatable {
    /// The name between the brackets, e.g. `convolutional` for `[convolutional]`.
    public var name: String
    public var line: Int
    public var entries: [CfgEntry]
}

/// A cfg file split into sections, every piece keeping its line number.
///
/// The syntax is Darknet's `read_cfg`: blank lines and lines starting with `#` or `;` are
/// skipped, spaces and tabs anywhere in a line are removed (Darknet's `strip`), and every other
/// line is a `[section]` header or a `key=value` option. We also accept CRLF line ends.
public struct CfgFile: Sendable {
    /// Lines longer than this are not cfg text (Darknet's longest, an anchors line, is < 200 bytes).
    public static let maximumLineLength = 65_536

    public var path: String
    public var sections: [CfgSection]

    public init(path: String) throws {
        try self.init(bytes: try InputFile.contents(of: path), path: path)
    }

    public init(text: String, path: String) throws {
        try self.init(bytes: Array(text.utf8), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        self.sections = []
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            throw Diagnostic(at: .file(path), "the file is empty: expected a [net] section")
        }
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            defer { start = end + 1 }
            let here = SourceLocation.line(file: path, line: lineNumber)
            if end - start > Self.maximumLineLength {
                throw Diagnostic(at: here, "line is \(end - start) bytes long; cfg lines are at most \(Self.maximumLineLength)")
            }
            let raw = bytes[start..<end]
            if raw.contains(0) {
                throw Diagnostic(at: here, "binary data (a NUL byte): this is not a cfg text file")
            }
            guard let decoded = String(validating: raw, as: UTF8.self) else {
                throw Diagnostic(at: here, "binary data (invalid UTF-8): this is not a cfg text file")
            }
            let line = decoded.filter { $0 != " " && $0 != "\t" && $0 != "\r" }
            guard let first = line.first, first != "#", first != ";" else { continue }
            if first == "[" {
                guard line.last == "]", line.count > 2 else {
                    throw Diagnostic(at: here, "malformed section header '\(line)': expected [name]")
                }
                sections.append(CfgSection(name: String(line.dropFirst().dropLast()), line: lineNumber, entries: []))
                continue
            }
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                throw Diagnostic(at: here, "'\(line.prefix(80))' is not an option: expected key=value")
            }
            guard !sections.isEmpty else {
                throw Diagnostic(at: here, "option '\(line[..<equals])' comes before any [section]")
            }
            let entry = CfgEntry(key: String(line[..<equals]), value: String(line[line.index(after: equals)...]), line: lineNumber)
            sections[sections.count - 1].entries.append(entry)
        }
        if sections.isEmpty {
            throw Diagnostic(at: .file(path), "no sections: expected a [net] section")
        }
    }
}
