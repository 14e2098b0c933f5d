import CLinux
import Glibc
import Synchronization

/// A file mapped read-only while the process holds a read lease on it (fcntl F_SETLEASE).
///
/// Mapping is the fastest way to load weights: the pages are the page cache's own, nothing is
/// copied and no fresh memory is faulted in. But a bare mapping shows whatever is later written
/// into the file, and a file truncated in place (Darknet's training saves `_last.weights` with
/// `fopen(…, "wb")`) makes the next access to a page past its new end kill the process with
/// SIGBUS. Under a read lease the kernel holds back every open of the file for writing, and every
/// truncation, until the lease is let go, and signals its holder first. The handler installed
/// here then moves a private copy of the pages to the mapping's address (mremap, so readers never
/// see a hole) and lets go: the writer goes on, and the weights stay what they were.
///
/// No lease, no mapping (`init` returns nil and the caller reads the file): the process neither
/// owns the file nor has CAP_LEASE, someone has it open for writing, the file system or
/// /proc/sys/fs/leases-enable refuses, or the program handles the signal (SIGRTMAX − 1) itself.
final class LeasedMapping: @unchecked Sendable {
    let address: UnsafeMutableRawPointer
    let length: Int
    private let slot: Int

    /// Maps the first `length` bytes of the open file `descriptor` (which may be closed after).
    init?(_ descriptor: Int32, length: Int) {
        guard Self.handlerInPlace,
              let slot = Self.states.indices.first(where: { Self.states[$0].compareExchange(expected: Self.free, desired: Self.busy, ordering: .acquiring).exchanged })
        else { return nil }
        self.slot = slot
        // Its own descriptor: the lease belongs to the open file and lasts until its last close.
        let leased = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        Self.descriptors[slot].store(Int(leased), ordering: .relaxed)
        Self.addresses[slot].store(0, ordering: .relaxed)
        Self.lengths[slot].store(0, ordering: .relaxed)
        Self.finish(slot, leaving: Self.leased)
        var status = stat()
        // Checked under the lease: from here on the file cannot shrink without the handler's copy.
        guard leased >= 0, fcntl(leased, DARKNET_F_SETSIG, Self.signal) == 0, fcntl(leased, DARKNET_F_SETLEASE, Int32(F_RDLCK)) == 0,
              fstat(leased, &status) == 0, Int(status.st_size) >= length,
              let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, leased, 0), address != MAP_FAILED
        else {
            _ = Self.take(slot)
            Self.release(slot, unmapping: nil)
            return nil
        }
        // A writer that came before the mapping was published found nothing to copy: the file
        // may be half rewritten by now, so read it instead (its counts are checked again).
        guard Self.take(slot) == Self.leased else {
            Self.release(slot, unmapping: UnsafeMutableRawBufferPointer(start: address, count: length))
            return nil
        }
        Self.addresses[slot].store(Int(bitPattern: address), ordering: .relaxed)
        Self.lengths[slot].store(length, ordering: .relaxed)
        Self.finish(slot, leaving: Self.leased)
        (self.address, self.length) = (address, length)
    }

    deinit {
        _ = Self.take(slot)
        Self.release(slot, unmapping: UnsafeMutableRawBufferPointer(start: address, count: length))
    }

    /// Whether the lease still holds, so that the mapping is still the file's pages (false once
    /// a writer has made the handler copy them).
    var isLeased: Bool { Self.states[slot].load(ordering: .acquiring) == Self.leased }

    // MARK: The table the signal handler reads

    // A slot's life: free → busy (its owner fills it) → leased ⇄ busy (its owner or the handler
    // works on it) → released (the handler copied and let go) → busy → free. A break signal
    // that finds the slot busy marks it breakPending, and whoever holds it lets go on finishing.
    private static let (free, busy, leased, breakPending, released) = (0, 1, 2, 3, 4)
    private static let states: InlineArray<32, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private static let descriptors: InlineArray<32, Atomic<Int>> = InlineArray { _ in Atomic(-1) }
    private static let addresses: InlineArray<32, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private static let lengths: InlineArray<32, Atomic<Int>> = InlineArray { _ in Atomic(0) }

    /// The real-time signal lease breaks are sent with.
    static let signal = __libc_current_sigrtmax() - 1

    /// Our handler as sigaction reports it, installed on first use; nil if the program already
    /// handled the signal (then nothing is mapped).
    private static let handler: Int? = {
        // The table is initialized here, before any signal can need it (its lazy first access
        // is not safe in a handler).
        _ = states[0].load(ordering: .relaxed) + descriptors[0].load(ordering: .relaxed)
            + addresses[0].load(ordering: .relaxed) + lengths[0].load(ordering: .relaxed)
        var action = sigaction()
        guard sigaction(signal, nil, &action) == 0, action.__sigaction_handler.sa_handler == nil, action.sa_flags & SA_SIGINFO == 0 else { return nil }
        action.__sigaction_handler.sa_sigaction = onLeaseBreak
        action.sa_flags = SA_SIGINFO | SA_RESTART
        guard sigaction(signal, &action, nil) == 0 else { return nil }
        return installedHandler
    }()

    /// Whether lease breaks still reach our handler: the program may have put its own in since.
    private static var handlerInPlace: Bool { handler != nil && installedHandler == handler }

    private static var installedHandler: Int? {
        var action = sigaction()
        guard sigaction(signal, nil, &action) == 0, action.sa_flags & SA_SIGINFO != 0 else { return nil }
        return unsafeBitCast(action.__sigaction_handler.sa_sigaction, to: Int.self)
    }

    /// Takes the slot for its owner, waiting while a handler on another thread copies; returns
    /// the state it was in (leased or released).
    private static func take(_ slot: Int) -> Int {
        while true {
            let state = states[slot].load(ordering: .acquiring)
            if state != busy && state != breakPending && states[slot].compareExchange(expected: state, desired: busy, ordering: .acquiring).exchanged {
                return state
            }
            sched_yield()
        }
    }

    /// Hands back a slot its owner took; a break that came meanwhile is carried out now.
    private static func finish(_ slot: Int, leaving state: Int) {
        guard !states[slot].compareExchange(expected: busy, desired: state, ordering: .releasing).exchanged else { return }
        letGo(slot)
        states[slot].store(released, ordering: .releasing)
    }

    /// Unmaps, closes the slot's descriptor (which ends its lease) and frees the slot, which its
    /// owner has taken (so no handler is copying from the mapping).
    private static func release(_ slot: Int, unmapping mapping: UnsafeMutableRawBufferPointer?) {
        if let mapping { munmap(mapping.baseAddress, mapping.count) }
        let descriptor = descriptors[slot].exchange(-1, ordering: .relaxed)
        if descriptor >= 0 { close(Int32(descriptor)) }
        addresses[slot].store(0, ordering: .relaxed)
        states[slot].store(free, ordering: .releasing)
    }

    /// Puts a private copy of the slot's pages in place of the mapping, then lets go of the lease.
    /// Async-signal-safe: system calls and memcpy only. If there is no memory for the copy, the
    /// lease is let go all the same (the kernel would break it after lease-break-time anyway,
    /// with the writer waiting): the mapping then sees the writer's changes.
    private static func letGo(_ slot: Int) {
        let (address, length) = (addresses[slot].load(ordering: .relaxed), lengths[slot].load(ordering: .relaxed))
        if let target = UnsafeMutableRawPointer(bitPattern: address),
           let copy = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), copy != MAP_FAILED {
            memcpy(copy, target, length)
            mprotect(copy, length, PROT_READ)
            if darknet_move_mapping(copy, length, target) == MAP_FAILED { munmap(copy, length) }
        }
        _ = fcntl(Int32(descriptors[slot].load(ordering: .relaxed)), DARKNET_F_SETLEASE, Int32(F_UNLCK))
    }

    /// What the signal handler does: copy and let go, unless the slot's owner holds it (then the
    /// owner does, on finishing) or no slot has the descriptor (a late signal for a closed file).
    fileprivate static func handleBreak(_ descriptor: Int32) {
        guard let slot = takeForBreak(descriptor) else { return }
        letGo(slot)
        states[slot].store(released, ordering: .releasing)
    }

    /// The slot leased on descriptor `descriptor`, taken for the handler; or marked for its owner
    /// to let go when the owner holds it; nil when there is none (a late signal for a closed file).
    private static func takeForBreak(_ descriptor: Int32) -> Int? {
        for slot in states.indices where descriptors[slot].load(ordering: .relaxed) == Int(descriptor) {
            var state = states[slot].load(ordering: .acquiring)
            while state == leased || state == busy {
                let next = state == leased ? busy : breakPending
                let (exchanged, found) = states[slot].compareExchange(expected: state, desired: next, ordering: .acquiringAndReleasing)
                if !exchanged { state = found; continue }
                guard next == busy else { return nil }
                // Taken: if the slot changed hands between the look and the exchange, put it back.
                guard descriptors[slot].load(ordering: .relaxed) == Int(descriptor) else {
                    states[slot].store(leased, ordering: .releasing)
                    break
                }
                return slot
            }
        }
        return nil
    }
}

/// A writer is waiting to open a leased file: copy its pages and let it through.
private func onLeaseBreak(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    if let info { LeasedMapping.handleBreak(info.pointee._sifields._sigpoll.si_fd) }
}
