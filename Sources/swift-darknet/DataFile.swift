import Darknet
import Glibc

/// A Darknet `.data` file (`classes=`, `names=`, `train=`, `backup=`, …), as Darknet users pass
/// one to `detector test`: detect takes its class names and checks its class count.
struct DataFile {
    let path: String
    /// `classes=` and its line, when given.
    let classes: (count: Int, line: Int)?
    /// `names=` resolved: as written (Darknet reads it from where it runs), else beside the
    /// `.data` file, where a copied data folder keeps it.
    let namesPath: String?

    init(contentsOf path: String) throws {
        self.path = path
        var classes: (Int, Int)?
        var names: String?
        let text = String(decoding: try readFile(path), as: UTF8.self)
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.filter { $0 != " " && $0 != "\t" && $0 != "\r" } // Darknet's strip
            guard let first = line.first, first != "#", first != ";" else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Diagnostic(at: .line(file: path, line: index + 1), "expected key=value, found '\(line)'")
            }
            let (key, value) = (line[..<equals], String(line[line.index(after: equals)...]))
            switch key {
            case "classes":
                guard let count = Int(value), count > 0 else {
                    throw Diagnostic(at: .line(file: path, line: index + 1), "classes=\(value): expected a whole number above 0")
                }
                classes = (count, index + 1)
            case "names":
                names = value
            default:
                continue // train=, valid=, backup=, eval=: for training, which detect does not do
            }
        }
        self.classes = classes
        self.namesPath = names.map { name in
            guard !name.hasPrefix("/"), access(name, F_OK) != 0, let slash = path.lastIndex(of: "/") else { return name }
            let beside = String(path[...slash]) + name
            return access(beside, F_OK) == 0 ? beside : name
        }
    }

    /// Fails unless `classes=` (when given) is what every [yolo] and [region] layer of `cfg` predicts.
    func check(against cfg: CfgFile) throws {
        guard let classes else { return }
        for section in cfg.sections where section.name == "yolo" || section.name == "region" {
            // Darknet's default when a head leaves classes= out.
            let entry = section.entries.first { $0.key == "classes" }
            let predicted = entry.flatMap { Int($0.value) } ?? 20
            if predicted != classes.count {
                throw Diagnostic(at: .line(file: path, line: classes.line),
                                 "classes=\(classes.count), but the [\(section.name)] layer at \(cfg.path):\(entry?.line ?? section.line) predicts \(predicted)")
            }
        }
    }
}

/// The whole file at `path`; a failure names it and says why, in errno's words.
func readFile(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw Diagnostic(at: .file(path), "cannot open the file: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw Diagnostic(at: .file(path), "cannot read the file: \(String(cString: strerror(errno)))") }
        if n == 0 { return bytes }
        bytes += buffer.prefix(n)
    }
}
