// Tensor memory comes from malloc (through xtensor's aligned allocator).  glibc hands large freed blocks back
// to the system (munmap, and trimming the top of the heap), so every training step faulted the same pages in
// again, a large share of a CNN's training time (benchmarks/README.md).  Once, at start-up, xgrad raises glibc's two
// thresholds so that freed tensor memory stays in the process and is reused, as a caching allocator would:
// blocks up to 32 MB (the most glibc allows) come from the heap, and the heap is trimmed only above 1 GB free.
// Peak memory is unchanged; memory freed after the peak is kept for reuse instead of returned.
// Set XGRAD_KEEP_FREED_MEMORY=0 to leave malloc as it is; GLIBC_TUNABLES malloc settings are respected.
#pragma once

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace xgrad::detail
{
    inline bool keep_freed_memory()
    {
#if defined(__GLIBC__)
        const char* setting = std::getenv("XGRAD_KEEP_FREED_MEMORY");
        const char* tunables = std::getenv("GLIBC_TUNABLES");
        if ((setting != nullptr && std::strcmp(setting, "0") == 0) ||
            (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr))
            return false;
        return mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1 && mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1;
#else
        return false;
#endif
    }

    // True when the thresholds were raised.  Initialised before main in every program that includes xgrad.
    inline const bool freed_memory_kept = keep_freed_memory();
}
