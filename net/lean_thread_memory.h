#pragma once

namespace net {

// Makes every thread of this process cost one resident stack page instead of two, by re-executing
// the program once with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=0:glibc.rtld.nns=1.
//
// Why: glibc places each thread's struct pthread (2.3 KiB) and static TLS at the top of its stack,
// and by default reserves ~1.5 KiB more TLS there for libraries that might be dlopen'ed later.
// That pushes the first stack frame onto a second page, so a server with 10,000 threads pays
// 40 MB just for the reserve. This program dlopens nothing that needs it (NSS lives in libc since
// glibc 2.34), so the reserve is dropped. Measured: 5,000 idle echo connections, 71.6 -> 51.6 MB.
//
// Does nothing when GLIBC_TUNABLES already names optional_static_tls (the user decides, and that
// is also how the re-executed process knows it is done), or when exec fails (no /proc): then the
// program simply runs with glibc's defaults. Call first thing in main(), before any thread
// starts and before any output. Threading: main thread only, single-threaded process.
void reexec_with_lean_thread_memory(char** argv);

}  // namespace net
