#include "tests/support/pids_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace testing_support {

PidsCgroup::PidsCgroup(const std::string& name) {
  std::string base;
  if (std::filesystem::exists("/sys/fs/cgroup/pids/cgroup.procs")) {
    base = "/sys/fs/cgroup/pids";  // cgroup v1
  } else {
    std::ifstream controllers("/sys/fs/cgroup/cgroup.subtree_control");
    std::string line;
    std::getline(controllers, line);
    if (line.find("pids") != std::string::npos) base = "/sys/fs/cgroup";  // cgroup v2
  }
  if (base.empty()) {
    reason_ = "no pids cgroup controller available";
    return;
  }
  const auto path = base + "/" + name + "_" + std::to_string(::getpid());
  if (::mkdir(path.c_str(), 0755) != 0) {
    reason_ = "cannot create " + path + ": " + std::strerror(errno);
    return;
  }
  path_ = path;
}

PidsCgroup::~PidsCgroup() {
  if (path_.empty()) return;
  // The processes in it were killed or exited before this runs; their tasks may take a moment to
  // go. Bounded: 500 tries, 10 ms apart.
  for (int i = 0; i < 500 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool PidsCgroup::write(const std::string& file, const std::string& value) const {
  std::ofstream out(path_ + "/" + file);
  out << value << std::flush;
  return static_cast<bool>(out);
}

long PidsCgroup::read(const std::string& file) const {
  std::ifstream in(path_ + "/" + file);
  long value = -1;
  in >> value;
  return value;
}

}  // namespace testing_support
