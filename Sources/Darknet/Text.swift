import Glibc

// Text helpers the library and its CLI share (the CLI imports them as `@_spi(CLI)`; they are
// not part of the library's interface). They live here because the package imports only
// FoundationEssentials, which has neither String(format:) nor trimmingCharacters(in:): loading
// full Foundation (and ICU with it) made every start of the command-line tool slower.

extension String {
    /// C's printf formatting (vsnprintf) of numbers, e.g. `String(printf: "%9.3f", ms)`.
    /// Swift strings are not `CVarArg`: interpolate them instead of passing them for `%s`.
    @_spi(CLI) public init(printf format: String, _ arguments: CVarArg...) {
        self = Self.printf(format, arguments)
    }

    private static func printf(_ format: String, _ arguments: [CVarArg]) -> String {
        let length = Int(withVaList(arguments) { vsnprintf(nil, 0, format, $0) })
        var bytes = [CChar](repeating: 0, count: Swift.max(length, 0) + 1)
        _ = withVaList(arguments) { vsnprintf(&bytes, bytes.count, format, $0) }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Without the whitespace (newlines included) at either end.
    var trimmingWhitespace: SubSequence {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map(index(after:)) ?? start
        return self[start..<end]
    }
}
