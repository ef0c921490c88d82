#pragma once

#include <cstdint>

namespace net {

// Raises this process's soft limit on open descriptors to its hard limit and returns the new
// soft limit. Each connection costs a descriptor, and many systems start programs at a soft
// limit of 1,024 while allowing far more; a server that means to hold 10,000 connections should
// not need the user to know that. Never lowers the limit; on failure returns the current one.
// Threading: any thread (it changes process-wide state; call it once, early in main).
std::uint64_t raise_open_file_limit();

}  // namespace net
