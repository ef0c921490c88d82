#include "base/process_settings.h"

#include <limits.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

namespace base {

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return limit.rlim_cur;
}

void set_default_thread_stack_size(std::size_t bytes) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  int error = pthread_attr_setstacksize(&attributes, bytes);
  if (error == 0) error = pthread_setattr_default_np(&attributes);
  pthread_attr_destroy(&attributes);
  if (error != 0) {
    throw std::system_error(error, std::system_category(),
                            "set thread stack size " + std::to_string(bytes));
  }
}

namespace {

// Set in the environment of the re-executed program, so that it never re-executes again whatever
// the loader did with GLIBC_TUNABLES.
constexpr const char* kReexecMarker = "SUITE_LEAN_THREAD_MEMORY_REEXEC";

}  // namespace

void reexec_with_lean_thread_memory(char** argv) {
  constexpr const char* kLeanTls = "glibc.rtld.optional_static_tls=0:glibc.rtld.nns=1";
  if (std::getenv(kReexecMarker) != nullptr) {
    ::unsetenv(kReexecMarker);  // not passed on to anything this program might start
    return;
  }
  // Secure-execution mode: the loader ignores and erases GLIBC_TUNABLES, so a re-exec would win
  // nothing (and, checked by the variable alone, would repeat for ever).
  if (::getauxval(AT_SECURE) != 0) return;
  // AT_BASE is 0 when the kernel loaded no interpreter: "ld.so ./echo-server" (then
  // /proc/self/exe is ld.so itself) or a static build. Re-executing would run the wrong program.
  if (::getauxval(AT_BASE) == 0) return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  if (current != nullptr && std::strstr(current, "glibc.rtld.optional_static_tls") != nullptr) {
    return;
  }
  // The program's own path, not /proc/self/exe: the kernel names the process after the file it
  // executes, and "exe" would hide the server from pgrep -x, pkill -x, ps -C and top.
  char path[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return;
  path[length] = '\0';
  const std::string previous = current != nullptr ? current : "";
  const std::string lean = previous.empty() ? kLeanTls : previous + ":" + kLeanTls;
  ::setenv("GLIBC_TUNABLES", lean.c_str(), 1);
  ::setenv(kReexecMarker, "1", 1);
  ::execv(path, argv);
  // Still here: exec failed (the file was replaced or deleted). Put the environment back and run
  // as we are.
  ::unsetenv(kReexecMarker);
  if (current != nullptr) {
    ::setenv("GLIBC_TUNABLES", previous.c_str(), 1);
  } else {
    ::unsetenv("GLIBC_TUNABLES");
  }
}

}  // namespace base
