#pragma once

// What /proc says about a running process: its open descriptors, threads, CPU time and resident
// memory, so tests can check for leaks, joined threads and a loop that does not spin; and how it
// was started (its name, environment, auxiliary vector and user ids), so tests can check what the
// kernel and the loader made of an exec.
//
// Threading: each call reads /proc afresh; safe from any thread. A process that is gone reads as
// 0 (counts and memory), -1 (CPU time) or empty (the rest).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace testing_support {

std::size_t count_open_fds(pid_t pid);
// Threads of the process, not counting io_uring's kernel workers (iou-wrk-*, iou-sqp-*).
std::size_t count_threads(pid_t pid);
// Open descriptors that are sockets (listening or connected).
std::size_t count_sockets(pid_t pid);
// User + system CPU time the process has used, in seconds.
double cpu_seconds(pid_t pid);
// Resident memory (VmRSS), in KiB.
std::size_t resident_kib(pid_t pid);

// The name the kernel gave the process (/proc/PID/comm, without the newline): the file name of
// the program it last executed, cut to 15 bytes.
std::string command_name(pid_t pid);
// The environment the process was started with (/proc/PID/environ), "NAME=value" each. Later
// setenv or unsetenv calls of the process do not show here.
std::vector<std::string> start_environment(pid_t pid);
// The auxiliary vector the kernel passed at exec (/proc/PID/auxv): AT_SECURE, AT_BASE, ... to
// their values. Reading another user's process needs root.
std::map<std::uint64_t, std::uint64_t> auxiliary_vector(pid_t pid);
// The real, effective, saved and filesystem user ids (the "Uid:" line of /proc/PID/status).
std::vector<uid_t> user_ids(pid_t pid);

}  // namespace testing_support
