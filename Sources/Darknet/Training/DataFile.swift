import Glibc

/// A Darknet `.data` file: `key=value` lines naming a run's files (`classes=`, `train=`,
/// `valid=`, `names=` or `labels=`, `backup=`), as `detector test` and `classifier train` read one.
public struct DataFile: Sendable {
    public let path: String
    /// Each key's value and line.
    public let entries: [String: (value: String, line: Int)]

    public init(contentsOf path: String) throws {
        self.path = path
        var entries: [String: (value: String, line: Int)] = [:]
        let text = String(decoding: try InputFile.contents(of: path), as: UTF8.self)
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.filter { $0 != " " && $0 != "\t" && $0 != "\r" } // Darknet's strip
            guard let first = line.first, first != "#", first != ";" else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Diagnostic(at: .line(file: path, line: index + 1), "expected key=value, found '\(line)'")
            }
            let key = String(line[..<equals])
            if let earlier = entries[key] {
                throw Diagnostic(at: .line(file: path, line: index + 1), "\(key)= is given twice (first at line \(earlier.line))")
            }
            entries[key] = (String(line[line.index(after: equals)...]), index + 1)
        }
        self.entries = entries
        if let entry = entries["classes"], Int(entry.value).map({ $0 <= 0 }) ?? true {
            throw Diagnostic(at: .line(file: path, line: entry.line), "classes=\(entry.value): expected a whole number above 0")
        }
    }

    /// `classes=` and its line, when given.
    public var classes: (count: Int, line: Int)? {
        entries["classes"].map { (Int($0.value)!, $0.line) }
    }

    /// The file named by `key`, resolved: as written (Darknet reads it from where it runs),
    /// else beside the `.data` file, where a copied data folder keeps it.
    public func filePath(_ key: String) -> String? {
        entries[key].map { resolve($0.value, besideFile: path) }
    }

    /// `names=` resolved.
    public var namesPath: String? { filePath("names") }

    /// The class names of `labels=` (a classifier's key) or `names=` (a detector's), one per
    /// line, checked against `classes=` when it is given.
    public func classNames() throws -> [String] {
        if let labels = entries["labels"], let names = entries["names"], labels.value != names.value {
            throw Diagnostic(at: .line(file: path, line: names.line), "names=\(names.value) and labels=\(labels.value) (line \(labels.line)) name different class lists")
        }
        let key = entries["labels"] != nil ? "labels" : "names"
        guard let file = filePath(key) else {
            throw Diagnostic(at: .file(path), "expected labels= (or names=): the file of class names, one per line")
        }
        let classNames = try reading(key) { try Detector.names(contentsOf: file) }
        guard !classNames.isEmpty else { throw Diagnostic(at: .file(file), "the file holds no class names") }
        if let classes, classes.count != classNames.count {
            throw Diagnostic(at: .line(file: path, line: classes.line), "classes=\(classes.count), but \(file) names \(classNames.count) classes")
        }
        return classNames
    }

    /// Where the class count was set: `classes=`, else the class list's key.
    public var classesLocation: SourceLocation {
        classes.map { .line(file: path, line: $0.line) } ?? location(of: entries["labels"] != nil ? "labels" : "names")
    }

    /// `body`, which reads the file `key` names: its failure to open that file is reported at
    /// `key`'s line.
    func reading<T>(_ key: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as Diagnostic where error.location == .file(filePath(key) ?? "") {
            throw Diagnostic(at: location(of: key), "\(key)=\(entries[key]!.value): \(error.message)")
        }
    }

    /// A location for an error about `key`: its line, or the whole file when it is missing.
    public func location(of key: String) -> SourceLocation {
        entries[key].map { .line(file: path, line: $0.line) } ?? .file(path)
    }

    /// Fails unless `classes=` (when given) is what every [yolo] and [region] layer of `cfg` predicts.
    public func check(against cfg: CfgFile) throws {
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

/// The image paths of a list file (`train=`, `valid=`) as written: one per line, spaces around
/// it and blank lines left out, each with its line number.
func imageList(_ list: String) throws -> [(line: Int, name: String)] {
    let text = String(decoding: try InputFile.contents(of: list), as: UTF8.self)
    return text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated().compactMap { index, raw in
        let name = String(raw.trimmingWhitespace)
        return name.isEmpty ? nil : (index + 1, name)
    }
}

/// `name` as written when it exists (or is absolute), else beside the file `reference` when it
/// exists there, else as written (so that the error names what the user wrote).
func resolve(_ name: String, besideFile reference: String) -> String {
    guard !name.hasPrefix("/"), access(name, F_OK) != 0, let slash = reference.lastIndex(of: "/") else { return name }
    let beside = String(reference[...slash]) + name
    return access(beside, F_OK) == 0 ? beside : name
}
