#include "net/lean_thread_memory.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace net {

void reexec_with_lean_thread_memory(char** argv) {
  constexpr const char* kLeanTls = "glibc.rtld.optional_static_tls=0:glibc.rtld.nns=1";
  const char* current = std::getenv("GLIBC_TUNABLES");
  if (current != nullptr && std::strstr(current, "glibc.rtld.optional_static_tls") != nullptr) {
    return;
  }
  const std::string previous = current != nullptr ? current : "";
  const std::string lean = previous.empty() ? kLeanTls : previous + ":" + kLeanTls;
  ::setenv("GLIBC_TUNABLES", lean.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // Still here: exec failed. Put the environment back and run as we are.
  if (current != nullptr) {
    ::setenv("GLIBC_TUNABLES", previous.c_str(), 1);
  } else {
    ::unsetenv("GLIBC_TUNABLES");
  }
}

}  // namespace net
