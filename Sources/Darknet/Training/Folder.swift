import Glibc

/// Listing folders with plain POSIX calls, for the readers of image folders.
@_spi(CLI) public enum Folder {
    /// The names in the folder `path`, without `.` and `..`, in no particular order.
    public static func entries(_ path: String) throws -> [String] {
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

    /// Whether `path` is a folder (following links).
    public static func isFolder(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// Whether `name` ends in .jpg, .jpeg or .png, in any case: the images folders are read for.
    public static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return ["jpg", "jpeg", "png"].contains(name[name.index(after: dot)...].lowercased())
    }

    /// `name` in `directory`.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Names in code-point order, as Python's `sorted` orders them (and so PyTorch's ImageFolder
    /// its classes), whatever Unicode's canonical ordering would say.
    public static func sorted(_ names: [String]) -> [String] {
        names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }
}
