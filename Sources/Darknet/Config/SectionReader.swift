/// Typed access to one section's options, with Darknet's defaults and our range checks.
///
/// Every key read or explicitly ignored is remembered, so that what is left over can be
/// reported as unknown. Duplicate keys keep their first value, as Darknet's `option_find` does.
struct SectionReader {
    let section: CfgSection
    let path: String
    private var known: Set<String> = []
    /// Values read as Darknet reads them though they say more (an integer's trailing text,
    /// list items past those Darknet reads): warnings, errors under `strict`.
    private var truncations: [Diagnostic] = []

    init(_ section: CfgSection, path: String) {
        self.section = section
        self.path = path
    }

    var name: String { section.name }
    var location: SourceLocation { .line(file: path, line: section.line) }

    func location(of key: String) -> SourceLocation {
        entry(key).map { .line(file: path, line: $0.line) } ?? location
    }

    func has(_ key: String) -> Bool { entry(key) != nil }

    private func entry(_ key: String) -> CfgEntry? {
        section.entries.first { $0.key == key }
    }

    func error(_ key: String, _ message: String) -> Diagnostic {
        if let entry = entry(key) {
            return Diagnostic(at: location(of: key), "[\(name)] \(key)=\(entry.value): \(message)")
        }
        return Diagnostic(at: location, "[\(name)] \(key): \(message)")
    }

    /// Keys Darknet reads for training only: accepted, and of no effect at inference.
    mutating func ignore(_ keys: [String]) {
        known.formUnion(keys)
    }

    mutating func string(_ key: String) -> String? {
        known.insert(key)
        return entry(key)?.value
    }

    mutating func int(_ key: String, default fallback: Int? = nil, in range: ClosedRange<Int>? = nil) throws -> Int {
        guard let text = string(key) else {
            guard let fallback else { throw error(key, "missing: this key is required") }
            return fallback
        }
        guard let value = Int32(text) ?? leadingInteger(key, text) else {
            throw error(key, "expected an integer" + Self.intRangeHint(text))
        }
        try check(key, Int(value), in: range)
        return Int(value)
    }

    mutating func float(_ key: String, default fallback: Float) throws -> Float {
        guard let text = string(key) else { return fallback }
        guard let value = Float(text), value.isFinite else { throw error(key, "expected a number") }
        return value
    }

    /// The integer Darknet's atoi reads from text that starts with one and goes on with something
    /// else (`filters=40#32` is 40, `layers=180###P6` 180), remembered for a warning; nil when
    /// the text does not start with an integer (where atoi would read 0) or it overflows.
    private mutating func leadingInteger(_ key: String, _ text: some StringProtocol) -> Int32? {
        let body = text.drop { $0 == " " || $0 == "\t" }
        let sign = body.first == "-" || body.first == "+" ? 1 : 0
        let digits = body.dropFirst(sign).prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int32(body.prefix(sign + digits.count)) else { return nil }
        truncations.append(Diagnostic(.warning, at: location(of: key),
                                      "[\(name)] \(key)=\(entry(key)?.value ?? String(text)): read as \(value), as Darknet's atoi reads it; '\(body.dropFirst(sign + digits.count))' is ignored"))
        return value
    }

    /// Remembers that part of `key`'s value is left unread, as Darknet leaves it.
    mutating func warnTruncated(_ key: String, _ message: String) {
        truncations.append(Diagnostic(.warning, at: location(of: key), "[\(name)] \(key)=\(entry(key)?.value ?? ""): \(message)"))
    }

    /// Darknet reads integers with atoi into a C int: for text that is all digits but failed to
    /// parse, the range it missed.
    private static func intRangeHint(_ text: some StringProtocol) -> String {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : text[...]
        let isInteger = !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
        return isInteger ? " in \(Int32.min)...\(Int32.max)" : ""
    }

    mutating func bool(_ key: String, default fallback: Bool = false) throws -> Bool {
        try int(key, default: fallback ? 1 : 0, in: 0...1) == 1
    }

    /// A comma-separated list of integers, e.g. `layers=-1,36` or `mask=0,1,2`.
    mutating func ints(_ key: String) throws -> [Int]? {
        guard let text = string(key) else { return nil }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let value = Int32($0) ?? leadingInteger(key, $0) else {
                throw error(key, "expected a comma-separated list of integers" + Self.intRangeHint($0))
            }
            return Int(value)
        }
    }

    mutating func floats(_ key: String) throws -> [Float]? {
        guard let text = string(key) else { return nil }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let value = Float($0), value.isFinite else { throw error(key, "expected a comma-separated list of numbers") }
            return value
        }
    }

    mutating func activation(_ key: String = "activation", default fallback: Activation) throws -> Activation {
        guard let text = string(key) else { return fallback }
        if let normalization = ChannelNormalization(rawValue: text) {
            throw error(key, "\(normalization.rawValue) acts across channels: only [convolutional] computes it (AlexeyAB's [\(name)] outputs 0)")
        }
        guard let activation = Activation(rawValue: text) ?? Activation.aliases[text] else {
            let names = Activation.allCases.map(\.rawValue).joined(separator: ", ")
            throw error(key, "unknown activation; expected one of \(names)")
        }
        return activation
    }

    /// A convolution's `activation=`: one of `Activation`, or one of the normalizations
    /// across channels, which then follow a linear activation.
    mutating func convolutionActivation(default fallback: Activation) throws -> (Activation, ChannelNormalization?) {
        if let text = string("activation"), let normalization = ChannelNormalization(rawValue: text) {
            return (.linear, normalization)
        }
        return (try activation(default: fallback), nil)
    }

    func check(_ key: String, _ value: Int, in range: ClosedRange<Int>?) throws {
        guard let range, !range.contains(value) else { return }
        if range.upperBound == Int.max || range.upperBound == Int(Int32.max) {
            throw error(key, "expected a value ≥ \(range.lowerBound)")
        }
        throw error(key, "expected a value in \(range.lowerBound)...\(range.upperBound)")
    }

    /// Values read in part, unknown keys and repeated keys, as warnings with their lines.
    func leftovers() -> [Diagnostic] {
        var seen: Set<String> = []
        var warnings = truncations
        for entry in section.entries {
            let here = SourceLocation.line(file: path, line: entry.line)
            if !seen.insert(entry.key).inserted {
                warnings.append(Diagnostic(.warning, at: here, "[\(name)] \(entry.key) is given twice; the first value is used"))
            } else if !known.contains(entry.key) {
                warnings.append(Diagnostic(.warning, at: here, "[\(name)] unknown key '\(entry.key)' is ignored"))
            }
        }
        return warnings
    }
}
