// Linux calls and constants that Swift's Glibc module leaves out: it is built without
// _GNU_SOURCE. Values from <linux/fcntl.h> and <linux/mman.h>; part of the kernel's ABI.
#include <stddef.h>

#define DARKNET_F_SETSIG 10      // F_SETSIG: the signal sent when a lease is broken
#define DARKNET_F_SETLEASE 1024  // F_LINUX_SPECIFIC_BASE + 0

extern void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...);

/// Moves the pages mapped at `from` to `to`, replacing whatever `to` mapped, in one step: a
/// thread reading `to` meanwhile sees the old pages or the new ones, never a hole.
static inline void *darknet_move_mapping(void *from, size_t size, void *to) {
    return mremap(from, size, size, 1 /* MREMAP_MAYMOVE */ | 2 /* MREMAP_FIXED */, to);
}
