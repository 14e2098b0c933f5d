/// Where a problem is: a line of a cfg, a byte of a weights file, or a whole file.
public enum SourceLocation: Sendable, Equatable {
    case file(String)
    case line(file: String, line: Int)
    case byte(file: String, offset: Int)
}

/// The one error (and warning) type of the library, rendered like a compiler's:
/// `yolov3.cfg:57: error: [route] layers=-90 points before layer 0`.
/// Thrown diagnostics are errors; warnings are collected on the definitions that produced them.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity = .error, at location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public var description: String {
        switch location {
        case .file(let file):
            return "\(file): \(severity): \(message)"
        case .line(let file, let line):
            return "\(file):\(line): \(severity): \(message)"
        case .byte(let file, let offset):
            return "\(file): byte \(offset): \(severity): \(message)"
        }
    }
}
