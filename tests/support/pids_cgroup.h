#pragma once

// A pids cgroup of its own (v1 or v2), so a test can cap how many threads a server may have and
// see what it does when creating one fails (root is exempt from RLIMIT_NPROC, a cgroup is not).
// Removed on destruction, once the processes put into it are gone: construct it before them.
//
// Threading: used from the test's thread only.

#include <string>

namespace testing_support {

class PidsCgroup {
 public:
  // Creates NAME_PID under the pids controller; path() stays empty (and reason() says why) when
  // no pids controller can be used here.
  explicit PidsCgroup(const std::string& name);
  ~PidsCgroup();
  PidsCgroup(const PidsCgroup&) = delete;
  PidsCgroup& operator=(const PidsCgroup&) = delete;

  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

  // Writes `value` to one of the group's files ("cgroup.procs", "pids.max"); false on failure.
  bool write(const std::string& file, const std::string& value) const;
  // The number in one of the group's files ("pids.current"), or -1.
  long read(const std::string& file) const;

 private:
  std::string path_;
  std::string reason_;
};

}  // namespace testing_support
