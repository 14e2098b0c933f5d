import Glibc

/// Uninitialized floats. The tens of megabytes a model holds (its parameters, its context's
/// buffers) are mapped on 2 MiB pages where the kernel's transparent huge pages allow it:
/// filling them then takes one page fault per 2 MiB instead of one per 4 KiB (inference itself
/// is no faster). Smaller arrays come from malloc.
final class FloatMemory: @unchecked Sendable {
    let floats: UnsafeMutablePointer<Float>
    let count: Int
    private let backing: Backing

    private enum Backing {
        case allocated
        case anonymous(UnsafeMutableRawBufferPointer)
        case file(LeasedMapping)
    }

    private static let mapThreshold = 1 << 24
    private static let hugePage = 1 << 21

    /// - Parameters:
    ///   - populate: the caller is about to fill every float (a reader): without huge pages,
    ///     have the kernel put all 4 KiB pages in with the mapping, not one fault each.
    ///   - hugePages: whether to ask for them (tests turn them off to reach the other path).
    init(count: Int, populate: Bool = false, hugePages: Bool = FloatMemory.hugePagesAvailable) {
        self.count = count
        let bytes = count * MemoryLayout<Float>.stride
        if bytes >= Self.mapThreshold, let (address, mapped) = Self.map(bytes: bytes, populate: populate, hugePages: hugePages) {
            floats = address.bindMemory(to: Float.self, capacity: count)
            backing = .anonymous(UnsafeMutableRawBufferPointer(start: address, count: mapped))
        } else {
            floats = .allocate(capacity: max(count, 1))
            backing = .allocated
        }
    }

    /// `count` floats of an open file from `byteOffset` on, mapped read-only and private under a
    /// read lease (see `LeasedMapping`): the pages are the page cache's own, so nothing is copied
    /// or zeroed, and writing to them faults. nil when no lease can be had: read the file then.
    init?(mapping descriptor: Int32, byteOffset: Int, count: Int) {
        guard let file = LeasedMapping(descriptor, length: byteOffset + count * MemoryLayout<Float>.stride) else { return nil }
        self.count = count
        floats = (file.address + byteOffset).bindMemory(to: Float.self, capacity: count)
        backing = .file(file)
    }

    deinit {
        switch backing {
        case .allocated: floats.deallocate()
        case .anonymous(let mapping): munmap(mapping.baseAddress, mapping.count)
        case .file: break // unmapped by the LeasedMapping
        }
    }

    /// Whether these floats are a file's pages in the page cache (mapped, and no writer has made
    /// the lease's handler copy them since).
    var isMapped: Bool {
        if case .file(let file) = backing { file.isLeased } else { false }
    }

    private static func map(bytes: Int, populate: Bool, hugePages: Bool) -> (UnsafeMutableRawPointer, Int)? {
        let protection = PROT_READ | PROT_WRITE
        guard hugePages else {
            let flags = MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0)
            guard let address = mmap(nil, bytes, protection, flags, -1, 0), address != MAP_FAILED else { return nil }
            return (address, bytes)
        }
        // Whole huge pages from a huge-page boundary: map one page more, unmap the slack either side.
        let size = (bytes + hugePage - 1) / hugePage * hugePage
        guard let address = mmap(nil, size + hugePage, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), address != MAP_FAILED else { return nil }
        let head = (hugePage - Int(bitPattern: address) % hugePage) % hugePage
        if head > 0 { munmap(address, head) }
        munmap(address + head + size, hugePage - head)
        // Advice only: if refused, the pages fault in 4 KiB at a time as they are first written.
        _ = madvise(address + head, size, MADV_HUGEPAGE)
        return (address + head, size)
    }

    /// False when transparent huge pages are switched off ("[never]") or absent from the kernel.
    static let hugePagesAvailable: Bool = {
        guard let setting = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8) else { return false }
        return !setting.contains("[never]")
    }()
}
