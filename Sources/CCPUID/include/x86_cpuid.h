#ifndef X86_CPUID_H
#define X86_CPUID_H
#include <stdint.h>

/// The four registers one CPUID query returns.
typedef struct {
    uint32_t eax, ebx, ecx, edx;
} x86_cpuid_registers;

/// CPUID for `leaf` and `subleaf`; all zero on a processor that is not x86 or for a leaf above
/// the highest the processor reports.
x86_cpuid_registers x86_cpuid(uint32_t leaf, uint32_t subleaf);

/// XCR0, the register states the operating system saves and so lets programs use (bits 1-2:
/// SSE and AVX; 5-7: AVX-512); 0 where the OS has not enabled XSAVE or the processor is not x86.
uint64_t x86_enabled_register_states(void);

#endif
