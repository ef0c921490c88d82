#include "tests/support/tmux.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/eventually.h"

extern char** environ;

namespace testing_support {

namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  int status = -1;  // exit code, or -1 when it did not end by itself in time
  std::string out;
};

// Runs `argv` with stdout on a pipe (stderr too, so tmux's complaints show in a failure), for
// at most `limit`; a client still running then is killed and reaped.
Outcome run(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int failed = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (failed != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("cannot start " + argv[0]);
  }
  Outcome outcome;
  const auto deadline = Clock::now() + limit;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd entry{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char chunk[4096];
    const ssize_t got = ::read(pipe_fds[0], chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    outcome.out.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    // Still running past its time (EOF came early, or the deadline passed): a short grace, then
    // killed. Both bounded.
    for (int polls = 0; polls < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++polls) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (polls == 99) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return outcome;
      }
    }
  }
  if (WIFEXITED(status)) outcome.status = WEXITSTATUS(status);
  return outcome;
}

constexpr auto kCommandLimit = std::chrono::seconds(20);

}  // namespace

std::optional<std::string> tmux_unavailable() {
  try {
    if (run({"tmux", "-V"}, kCommandLimit).status == 0) return std::nullopt;
  } catch (const std::exception&) {
  }
  return "tmux is not installed (scripts/setup.sh installs it)";
}

TmuxSession::TmuxSession(std::string server, const std::vector<std::string>& argv,
                         const std::vector<std::string>& environment, int columns, int rows)
    : server_(std::move(server)) {
  // The pane stays when the program ends (remain-on-exit), set before the program starts.
  std::vector<std::string> args = {"start-server",
                                   ";",
                                   "set-option",
                                   "-g",
                                   "remain-on-exit",
                                   "on",
                                   ";",
                                   "new-session",
                                   "-d",
                                   "-x",
                                   std::to_string(columns),
                                   "-y",
                                   std::to_string(rows)};
  for (const auto& variable : environment) {
    args.push_back("-e");
    args.push_back(variable);
  }
  // Through bash, which says the exit status on the screen once the program ends (tmux 3.3
  // leaves #{pane_dead_status} empty), and which, unlike dash, outlives a Ctrl-C that its child
  // handled.
  args.insert(args.end(), {"bash", "-c", "\"$@\"; echo \"exit status $?\"", "bash"});
  args.insert(args.end(), argv.begin(), argv.end());
  tmux(args);
}

TmuxSession::~TmuxSession() {
  try {
    run({"tmux", "-L", server_, "kill-server"}, kCommandLimit);
  } catch (const std::exception&) {
  }
}

std::string TmuxSession::tmux(const std::vector<std::string>& args) {
  // -u: UTF-8 whatever the test's locale; -f /dev/null: no user configuration.
  std::vector<std::string> argv = {"tmux", "-u", "-f", "/dev/null", "-L", server_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto outcome = run(argv, kCommandLimit);
  if (outcome.status != 0) {
    throw std::runtime_error("tmux " + (args.empty() ? std::string() : args[0]) +
                             " failed: " + outcome.out);
  }
  return outcome.out;
}

void TmuxSession::keys(const std::vector<std::string>& names) {
  std::vector<std::string> args = {"send-keys", "-t", "0"};
  args.insert(args.end(), names.begin(), names.end());
  tmux(args);
}

void TmuxSession::type(const std::string& text) {
  tmux({"send-keys", "-t", "0", "-l", text});
}

std::string TmuxSession::screen() {
  return tmux({"capture-pane", "-p", "-t", "0"});
}

std::vector<std::string> TmuxSession::rows() {
  std::vector<std::string> lines;
  std::istringstream in(screen());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::pair<int, int> TmuxSession::cursor() {
  std::istringstream in(tmux({"display-message", "-p", "-t", "0", "#{cursor_x} #{cursor_y}"}));
  int x = -1, y = -1;
  in >> x >> y;
  return {x, y};
}

std::optional<int> TmuxSession::exit_status() {
  const std::string marker = "exit status ";
  for (const auto& line : rows()) {
    if (line.rfind(marker, 0) == 0 && line.size() > marker.size()) {
      return std::atoi(line.c_str() + marker.size());
    }
  }
  return std::nullopt;
}

bool TmuxSession::wait_for_text(const std::string& needle, std::chrono::milliseconds limit) {
  return wait_for(
      [&](const std::vector<std::string>& lines) {
        for (const auto& line : lines) {
          if (line.find(needle) != std::string::npos) return true;
        }
        return false;
      },
      limit);
}

bool TmuxSession::wait_for(const std::function<bool(const std::vector<std::string>&)>& ready,
                           std::chrono::milliseconds limit) {
  return eventually([&] { return ready(rows()); }, limit);
}

std::optional<int> TmuxSession::wait_for_exit(std::chrono::milliseconds limit) {
  std::optional<int> status;
  eventually([&] { return (status = exit_status()).has_value(); }, limit);
  return status;
}

}  // namespace testing_support
