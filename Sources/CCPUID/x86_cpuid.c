// CPUID and XGETBV are single instructions that Swift cannot emit: this file is all the C the
// library needs to learn which kernels the processor and the operating system allow.
#include "x86_cpuid.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

x86_cpuid_registers x86_cpuid(uint32_t leaf, uint32_t subleaf) {
    x86_cpuid_registers r = {0, 0, 0, 0};
    // __get_cpuid_count checks the leaf against the highest one of its range.
    if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) {
        r.eax = r.ebx = r.ecx = r.edx = 0;
    }
    return r;
}

uint64_t x86_enabled_register_states(void) {
    x86_cpuid_registers leaf1 = x86_cpuid(1, 0);
    if (!(leaf1.ecx & (1u << 27))) return 0; // OSXSAVE: XGETBV is usable
    uint32_t low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}
#else
x86_cpuid_registers x86_cpuid(uint32_t leaf, uint32_t subleaf) {
    (void)leaf; (void)subleaf;
    x86_cpuid_registers r = {0, 0, 0, 0};
    return r;
}

uint64_t x86_enabled_register_states(void) { return 0; }
#endif
