#pragma once

// Test helpers for starting the suite's real programs and reading what they print.
// Threading: a ChildProcess is used from the test's thread only.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace testing_support {

// Absolute path of one of the suite's programs ("echo-server"), from SUITE_BIN_DIR.
std::string program_path(const std::string& name);

// A child process with its stdin, stdout and stderr on pipes. The destructor kills (SIGKILL) and
// reaps a child that is still running, so a failing test never leaves one behind.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Next full line of stdout (without '\n'), or nullopt at EOF or after `timeout`.
  std::optional<std::string> read_stdout_line(std::chrono::milliseconds timeout);
  // Waits for a stdout line containing `needle`, up to `timeout`; returns it.
  std::optional<std::string> wait_for_stdout(const std::string& needle,
                                             std::chrono::milliseconds timeout);
  // Everything on stderr so far plus whatever arrives until EOF or `timeout`.
  std::string read_all_stderr(std::chrono::milliseconds timeout);
  // Stderr received so far (non-blocking drain).
  std::string stderr_so_far();

  void write_stdin(const std::string& text);
  void close_stdin();
  void signal(int number);
  // Exit code (128+N for a signal N), or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  void drain(int fd, std::string& into, std::chrono::milliseconds timeout, bool until_eof);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_buffer_;
  std::string stderr_buffer_;
  bool stdout_eof_ = false;
  bool stderr_eof_ = false;
  std::optional<int> exit_code_;
};

// Starts `echo-server --port 0 ...extra`, waits for "listening on ADDR:PORT" and returns the port.
struct RunningServer {
  std::unique_ptr<ChildProcess> process;
  std::uint16_t port = 0;
};
RunningServer start_echo_server(const std::vector<std::string>& extra_args = {});

// Runs a shell command, returns its exit code and stdout (stderr goes to the test's stderr).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::string& shell_command);

// Open descriptors and threads of a process, from /proc.
std::size_t count_open_fds(pid_t pid);
std::size_t count_threads(pid_t pid);

}  // namespace testing_support
