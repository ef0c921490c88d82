// Integration: echo-server started the ways privileged installs start it. A copy given a file
// capability (setcap cap_net_bind_service=+ep, so port 7 needs no root) or made setuid root, run
// by the ordinary user nobody, starts in secure-execution mode, where the loader ignores and erases
// GLIBC_TUNABLES; a copy started through an explicit ld.so invocation has ld.so as its
// /proc/self/exe. In both the server must run as started instead of re-executing itself for its
// lean thread memory (docs/design.md, "Thread memory"): it listens, echoes and stops on SIGTERM.
//
// The capability and setuid cases need root (setcap, chown, switching to nobody), the setcap and
// setpriv tools, and a temporary folder on a filesystem that honours setuid; elsewhere they skip
// with a printed reason. A child that changed its user loses the parent-death signal, so one left
// by a crashed test is not killed with it; the tests themselves kill each server they start.
#include <doctest/doctest.h>

#include <elf.h>
#include <pwd.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/echo_server_process.h"
#include "tests/support/proc_stats.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;
using namespace testing_support;

namespace {

// Set in the environment of a re-executed echo-server (base/process_settings.cpp).
constexpr const char* kReexecMarker = "SUITE_LEAN_THREAD_MEMORY_REEXEC=";

// A tool from PATH, or from the sbin folders a non-login root shell may lack in PATH.
std::string find_tool(const std::string& name) {
  if (auto found = find_in_path(name); !found.empty()) return found;
  for (const std::string folder : {"/usr/sbin/", "/sbin/"}) {
    if (::access((folder + name).c_str(), X_OK) == 0) return folder + name;
  }
  return {};
}

bool no_new_privileges() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("NoNewPrivs:")) return line.find('1') != std::string::npos;
  }
  return false;
}

// Why a copy made privileged cannot be tried here, or "" when it can.
std::string why_privileged_starts_cannot_run() {
  if (::geteuid() != 0) return "needs root, to give a copy capabilities or setuid and run it";
  if (find_tool("setcap").empty()) return "setcap is missing (Debian: libcap2-bin)";
  if (find_tool("setpriv").empty()) return "setpriv is missing (Debian: util-linux)";
  if (::getpwnam("nobody") == nullptr) return "there is no user nobody";
  if (no_new_privileges()) return "no_new_privs is set: exec ignores setuid and file capabilities";
  return {};
}

// The built echo-server copied into a fresh folder that everyone may read and enter, owned by
// root, so that it can be made privileged without touching the build.
class ServerCopy {
 public:
  ServerCopy() {
    namespace fs = std::filesystem;
    constexpr auto kEveryoneReadsAndRuns = fs::perms::owner_all | fs::perms::group_read |
                                           fs::perms::group_exec | fs::perms::others_read |
                                           fs::perms::others_exec;
    fs::permissions(dir_.path(), kEveryoneReadsAndRuns);
    fs::copy_file(program_path("echo-server"), path_);
    fs::permissions(path_, kEveryoneReadsAndRuns);
  }

  const std::string& path() const { return path_; }

  // Why the copy cannot be run privileged by nobody, or "" when it can.
  std::string why_not_privileged(const std::vector<std::string>& as_nobody) const {
    struct statvfs filesystem {};
    if (::statvfs(path_.c_str(), &filesystem) != 0) return "statvfs of the copy failed";
    if ((filesystem.f_flag & ST_NOSUID) != 0) {
      return dir_.path().string() + " is on a filesystem mounted nosuid";
    }
    auto check = as_nobody;
    check.insert(check.end(), {find_in_path("test"), "-x", path_});
    if (run_program(check, 30s).exit_code != 0) {
      return "nobody cannot run " + path_ + " (a folder above it is closed to others)";
    }
    return {};
  }

 private:
  TempDir dir_{"echo-privileged"};
  std::string path_ = dir_.file("echo-server");
};

// The command prefix that runs a program as nobody, with nobody's group and no other groups.
std::vector<std::string> as_nobody() {
  const passwd* nobody = ::getpwnam("nobody");
  return {find_tool("setpriv"), "--reuid=" + std::to_string(nobody->pw_uid),
          "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups", "--"};
}

uid_t nobody_uid() {
  return ::getpwnam("nobody")->pw_uid;
}

// The program interpreter (PT_INTERP) an ELF executable names, "" when it names none.
std::string program_interpreter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof header)) return {};
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64) {
    return {};
  }
  for (unsigned index = 0; index < header.e_phnum; ++index) {
    Elf64_Phdr segment{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + index * header.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&segment), sizeof segment)) return {};
    if (segment.p_type != PT_INTERP) continue;
    std::string name(segment.p_filesz, '\0');
    in.seekg(static_cast<std::streamoff>(segment.p_offset));
    if (!in.read(name.data(), static_cast<std::streamsize>(name.size()))) return {};
    return name.c_str();  // stored with its terminating NUL
  }
  return {};
}

// True when the server runs as it was started: no re-exec put the marker in its environment.
bool ran_as_started(pid_t pid) {
  const auto environment = start_environment(pid);
  return std::none_of(environment.begin(), environment.end(), [](const std::string& variable) {
    return variable.starts_with(kReexecMarker);
  });
}

// What every start must give: the listening line, an echo, and a clean stop on SIGTERM.
void check_serves_and_stops(EchoServerProcess& server) {
  CHECK(server.listening_line == "listening on 127.0.0.1:" + std::to_string(server.port));
  CHECK(echoes("127.0.0.1", server.port));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == 1);
}

}  // namespace

TEST_CASE("a copy with the file capability cap_net_bind_service, run by nobody, serves") {
  if (const auto reason = why_privileged_starts_cannot_run(); !reason.empty()) {
    MESSAGE("skipped: " << reason);
    return;
  }
  ServerCopy copy;
  if (const auto reason = copy.why_not_privileged(as_nobody()); !reason.empty()) {
    MESSAGE("skipped: " << reason);
    return;
  }
  REQUIRE(run_program({find_tool("setcap"), "cap_net_bind_service=+ep", copy.path()}).exit_code ==
          0);
  auto server = start_echo_server_at(copy.path(), {"--bind", "127.0.0.1"}, as_nobody());
  // Otherwise this start would prove nothing: the kernel must have run it in secure mode.
  REQUIRE(auxiliary_vector(server.pid())[AT_SECURE] == 1);
  const auto ids = user_ids(server.pid());
  REQUIRE(ids.size() >= 2);
  CHECK(ids[0] == nobody_uid());
  CHECK(ids[1] == nobody_uid());
  CHECK(ran_as_started(server.pid()));
  check_serves_and_stops(server);
}

TEST_CASE("a setuid-root copy run by nobody serves") {
  if (const auto reason = why_privileged_starts_cannot_run(); !reason.empty()) {
    MESSAGE("skipped: " << reason);
    return;
  }
  ServerCopy copy;
  if (const auto reason = copy.why_not_privileged(as_nobody()); !reason.empty()) {
    MESSAGE("skipped: " << reason);
    return;
  }
  // chown first: changing the owner clears the setuid bit.
  REQUIRE(::chown(copy.path().c_str(), 0, 0) == 0);
  std::filesystem::permissions(copy.path(), std::filesystem::perms::set_uid,
                               std::filesystem::perm_options::add);
  auto server = start_echo_server_at(copy.path(), {"--bind", "127.0.0.1"}, as_nobody());
  REQUIRE(auxiliary_vector(server.pid())[AT_SECURE] == 1);
  const auto ids = user_ids(server.pid());
  REQUIRE(ids.size() >= 2);
  CHECK(ids[0] == nobody_uid());
  CHECK(ids[1] == 0);
  CHECK(ran_as_started(server.pid()));
  check_serves_and_stops(server);
}

TEST_CASE("a copy started through an explicit ld.so invocation serves") {
  ServerCopy copy;
  const auto interpreter = program_interpreter(copy.path());
  if (interpreter.empty()) {
    MESSAGE("skipped: echo-server names no program interpreter (a static build)");
    return;
  }
  MESSAGE("interpreter: " << interpreter);
  auto server = start_echo_server_at(copy.path(), {"--bind", "127.0.0.1"}, {interpreter});
  // The kernel loaded ld.so as the program, so /proc/self/exe is ld.so, not the server.
  CHECK(std::filesystem::read_symlink("/proc/" + std::to_string(server.pid()) + "/exe") ==
        std::filesystem::canonical(interpreter));
  CHECK(ran_as_started(server.pid()));
  check_serves_and_stops(server);
}
