import Glibc

/// An open file read with plain POSIX calls: no intermediate copies, every count checked.
struct InputFile: ~Copyable {
    let path: String
    let descriptor: Int32
    let size: Int

    init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Diagnostic(at: .file(path), "cannot open the file: \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Diagnostic(at: .file(path), "cannot open the file: \(reason)")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            // A folder opens for reading; its first read would fail with EISDIR, so say that now.
            let reason = (status.st_mode & S_IFMT) == S_IFDIR ? String(cString: strerror(EISDIR)) : "not a regular file"
            throw Diagnostic(at: .file(path), "cannot read the file: \(reason)")
        }
        self.path = path
        self.size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// The whole file at `path`; a failure names the file and says why, in errno's words.
    static func contents(of path: String) throws -> [UInt8] {
        let file = try InputFile(path: path)
        var bytes = [UInt8](repeating: 0, count: file.size)
        try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        return bytes
    }

    /// Fills `buffer` from the bytes at `offset`; fails unless every byte arrives. Large reads
    /// go in pieces of `pieceBytes`, on all cores: the kernel's copying into fresh pages is most
    /// of a load, and it runs on the thread that reads. Each piece is handed to `filled` with
    /// its index as soon as it is read, while it is still in cache; `filled` must be safe to
    /// call for different pieces at once. The error thrown is the first failing piece's.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, pieceBytes: Int = 1 << 30,
              filled: (_ piece: Int, UnsafeMutableRawBufferPointer) -> Void = { _, _ in }) throws {
        let (descriptor, path) = (descriptor, path)
        let pieces = (buffer.count + pieceBytes - 1) / pieceBytes
        var failures = [Diagnostic?](repeating: nil, count: pieces)
        failures.withUnsafeMutableBufferPointer { failures in
            Parallel.forEach(pieces, work: buffer.count / 4) { range in
                for piece in range {
                    let (start, end) = (piece * pieceBytes, min((piece + 1) * pieceBytes, buffer.count))
                    var done = start
                    while done < end {
                        let n = pread(descriptor, buffer.baseAddress! + done, end - done, off_t(offset + done))
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else {
                            let reason = n == 0 ? "unexpected end of file" : String(cString: strerror(errno))
                            failures[piece] = Diagnostic(at: .byte(file: path, offset: offset + done), "read failed: \(reason)")
                            return
                        }
                        done += n
                    }
                    filled(piece, UnsafeMutableRawBufferPointer(rebasing: buffer[start..<end]))
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }
}

/// Writes a file whole or not at all: into a temporary file beside it, then renamed into place.
func writeAtomically(to path: String, _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { path[...$0] } ?? "./"
    let name = slash.map { path[path.index(after: $0)...] } ?? path[...]
    var template = Array("\(directory).\(name).XXXXXX".utf8CString)
    let descriptor = mkstemp(&template)
    guard descriptor >= 0 else {
        throw Diagnostic(at: .file(path), "cannot create a temporary file beside it: \(String(cString: strerror(errno)))")
    }
    let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var committed = false
    defer {
        close(descriptor)
        if !committed { unlink(temporary) }
    }
    try body { bytes in
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Diagnostic(at: .file(path), "write failed: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
    guard fchmod(descriptor, 0o644) == 0, fsync(descriptor) == 0 else {
        throw Diagnostic(at: .file(path), "cannot finish writing: \(String(cString: strerror(errno)))")
    }
    guard rename(temporary, path) == 0 else {
        throw Diagnostic(at: .file(path), "cannot rename the finished file into place: \(String(cString: strerror(errno)))")
    }
    committed = true
}
