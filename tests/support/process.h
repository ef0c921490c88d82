#pragma once

// Starting the suite's real programs (and the tools they are tried with) as child processes and
// reading what they print, every wait bounded.
//
// Threading: a ChildProcess is used by one thread at a time, normally the test's; the free
// functions are safe from any thread.

#include <sys/types.h>

#include <chrono>
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

// Runs a shell command, returns its exit code and stdout (stderr goes to the test's stderr).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::string& shell_command);

// Runs a program to its end (bounded by `limit`), stdin closed: exit code (nullopt if it was
// still running at the limit; it is then killed), stdout and stderr.
struct ProgramRun {
  std::optional<int> exit_code;
  std::string stdout_text;
  std::string stderr_text;
};
ProgramRun run_program(const std::vector<std::string>& argv,
                       std::chrono::milliseconds limit = std::chrono::seconds(30));

// Absolute path of a program found in PATH, or "" when there is none.
std::string find_in_path(const std::string& name);

}  // namespace testing_support
