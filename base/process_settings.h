#pragma once

#include <cstddef>
#include <cstdint>

// Process-wide settings the programs make once, early in main(), before their threads start.
// Threading: main thread only, while the process is still single-threaded (except where said).
namespace base {

// Raises this process's soft limit on open descriptors to its hard limit and returns the new
// soft limit. Each connection costs a descriptor, and many systems start programs at a soft
// limit of 1,024 while allowing far more; a server that means to hold 10,000 connections should
// not need the user to know that. Never lowers the limit; on failure returns the current one.
std::uint64_t raise_open_file_limit();

// Sets the stack size of threads started after this call (std::jthread has no such parameter;
// glibc's default attributes apply to it). Throws std::system_error for a size the system
// rejects.
void set_default_thread_stack_size(std::size_t bytes);

// Makes every thread of this process cost one resident stack page instead of two, by re-executing
// the program once with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=0:glibc.rtld.nns=1.
//
// Why: glibc places each thread's struct pthread (2.3 KiB) and static TLS at the top of its stack,
// and by default reserves ~1.5 KiB more TLS there for libraries that might be dlopen'ed later.
// That pushes the first stack frame onto a second page, so a server with 10,000 threads pays
// 40 MB just for the reserve. These programs dlopen nothing that needs it (NSS lives in libc
// since glibc 2.34), so the reserve is dropped. Measured: 5,000 idle echo connections,
// 71.6 -> 51.6 MB. See docs/design.md, "Thread memory", for why this lives in the program.
//
// Runs the program as it is (no re-exec) when GLIBC_TUNABLES already names optional_static_tls
// (the user decided), when the process runs in secure-execution mode (setuid, setgid or file
// capabilities: the loader would erase the variable), when the program was started through an
// explicit ld.so invocation, when it was re-executed once already, or when exec fails. The
// re-executed program keeps its name (/proc/PID/comm), so pgrep and pkill find it.
void reexec_with_lean_thread_memory(char** argv);

}  // namespace base
