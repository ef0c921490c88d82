#pragma once

// What /proc says about a running process: its open descriptors, threads, CPU time and resident
// memory, so tests can check for leaks, joined threads and a loop that does not spin.
//
// Threading: each call reads /proc afresh; safe from any thread. A process that is gone reads as
// 0 (counts and memory) or -1 (CPU time).

#include <sys/types.h>

#include <cstddef>

namespace testing_support {

std::size_t count_open_fds(pid_t pid);
std::size_t count_threads(pid_t pid);
// User + system CPU time the process has used, in seconds.
double cpu_seconds(pid_t pid);
// Resident memory (VmRSS), in KiB.
std::size_t resident_kib(pid_t pid);

}  // namespace testing_support
