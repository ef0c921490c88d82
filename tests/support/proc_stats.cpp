#include "tests/support/proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>

namespace testing_support {

namespace {

std::string proc_path(pid_t pid, const char* entry) {
  return "/proc/" + std::to_string(pid) + "/" + entry;
}

// Entries of a /proc folder (one per descriptor in fd/, one per thread in task/).
std::size_t count_entries(const std::string& path) {
  std::size_t count = 0;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
  }
  return count;
}

}  // namespace

std::size_t count_open_fds(pid_t pid) {
  return count_entries(proc_path(pid, "fd"));
}

std::size_t count_threads(pid_t pid) {
  const auto folder = proc_path(pid, "task");
  std::size_t threads = 0;
  if (DIR* dir = ::opendir(folder.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      std::ifstream comm(folder + "/" + entry->d_name + "/comm");
      std::string name;
      std::getline(comm, name);
      // io_uring's workers (iou-wrk-*, iou-sqp-*) show as threads of the process, but the
      // kernel starts and ends them on its own, whenever an operation must wait in a worker.
      if (!name.starts_with("iou-")) ++threads;
    }
    ::closedir(dir);
  }
  return threads;
}

std::size_t count_sockets(pid_t pid) {
  const auto folder = proc_path(pid, "fd");
  std::size_t sockets = 0;
  if (DIR* dir = ::opendir(folder.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      char target[64];
      const auto link = folder + "/" + entry->d_name;
      // A descriptor closed since the listing reads as an error: not counted.
      const auto length = ::readlink(link.c_str(), target, sizeof target);
      if (length > 0 &&
          std::string_view(target, static_cast<std::size_t>(length)).starts_with("socket:")) {
        ++sockets;
      }
    }
    ::closedir(dir);
  }
  return sockets;
}

double cpu_seconds(pid_t pid) {
  std::ifstream file(proc_path(pid, "stat"));
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long user = 0, system = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) user = std::stoull(field);
    if (index == 15) {
      system = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t resident_kib(pid_t pid) {
  std::ifstream in(proc_path(pid, "status"));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  }
  return 0;
}

std::string command_name(pid_t pid) {
  std::ifstream in(proc_path(pid, "comm"));
  std::string name;
  std::getline(in, name);
  return name;
}

std::vector<std::string> start_environment(pid_t pid) {
  std::ifstream in(proc_path(pid, "environ"), std::ios::binary);
  std::vector<std::string> variables;
  for (std::string variable; std::getline(in, variable, '\0');) variables.push_back(variable);
  return variables;
}

std::map<std::uint64_t, std::uint64_t> auxiliary_vector(pid_t pid) {
  std::ifstream in(proc_path(pid, "auxv"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Pairs of native words (type, value), ended by AT_NULL.
  std::map<std::uint64_t, std::uint64_t> entries;
  using Word = unsigned long;
  for (std::size_t at = 0; at + 2 * sizeof(Word) <= bytes.size(); at += 2 * sizeof(Word)) {
    Word type = 0, value = 0;
    bytes.copy(reinterpret_cast<char*>(&type), sizeof(Word), at);
    bytes.copy(reinterpret_cast<char*>(&value), sizeof(Word), at + sizeof(Word));
    if (type == 0) break;
    entries[type] = value;
  }
  return entries;
}

std::vector<uid_t> user_ids(pid_t pid) {
  std::ifstream in(proc_path(pid, "status"));
  std::vector<uid_t> ids;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("Uid:")) continue;
    std::istringstream fields(line.substr(4));
    for (unsigned long id = 0; fields >> id;) ids.push_back(static_cast<uid_t>(id));
    break;
  }
  return ids;
}

}  // namespace testing_support
