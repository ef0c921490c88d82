#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "tests/support/deadline.h"

namespace testing_support {

std::string program_path(const std::string& name) {
  const char* dir = std::getenv("SUITE_BIN_DIR");
  if (dir == nullptr) throw std::runtime_error("SUITE_BIN_DIR is not set (run tests via ctest)");
  return std::string(dir) + "/" + name;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no server behind
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  ::fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void ChildProcess::drain(int fd, std::string& into, std::chrono::milliseconds timeout,
                         bool until_eof) {
  const auto deadline = Clock::now() + timeout;
  bool& eof = fd == stdout_fd_ ? stdout_eof_ : stderr_eof_;
  std::array<char, 65536> chunk;
  while (!eof) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got > 0) {
      into.append(chunk.data(), static_cast<std::size_t>(got));
      if (!until_eof) return;
      continue;
    }
    if (got == 0) {
      eof = true;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return;
    const int wait_ms = milliseconds_left(deadline);
    if (wait_ms == 0) return;
    pollfd waiting{fd, POLLIN, 0};
    ::poll(&waiting, 1, wait_ms);
  }
}

std::optional<std::string> ChildProcess::read_stdout_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto newline = stdout_buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, newline);
      stdout_buffer_.erase(0, newline + 1);
      return line;
    }
    if (stdout_eof_ || milliseconds_left(deadline) == 0) return std::nullopt;
    const auto left = std::chrono::milliseconds(milliseconds_left(deadline));
    drain(stdout_fd_, stdout_buffer_, left, false);
  }
}

std::optional<std::string> ChildProcess::wait_for_stdout(const std::string& needle,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = read_stdout_line(std::chrono::milliseconds(milliseconds_left(deadline)))) {
    if (line->find(needle) != std::string::npos) return line;
  }
  return std::nullopt;
}

std::string ChildProcess::read_all_stderr(std::chrono::milliseconds timeout) {
  drain(stderr_fd_, stderr_buffer_, timeout, true);
  return stderr_buffer_;
}

std::string ChildProcess::stderr_so_far() {
  drain(stderr_fd_, stderr_buffer_, std::chrono::milliseconds(0), true);
  return stderr_buffer_;
}

void ChildProcess::write_stdin(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t wrote = ::write(stdin_fd_, text.data() + done, text.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("write to child stdin: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(wrote);
  }
}

void ChildProcess::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void ChildProcess::signal(int number) { ::kill(pid_, number); }

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (milliseconds_left(deadline) == 0) return std::nullopt;
    ::usleep(10'000);
  }
}

CommandResult run_command(const std::string& shell_command) {
  CommandResult result;
  FILE* pipe = ::popen(shell_command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> chunk;
  std::size_t got = 0;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) {
    result.output.append(chunk.data(), got);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ProgramRun run_program(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  ChildProcess child(argv);
  child.close_stdin();
  ProgramRun run;
  const auto deadline = Clock::now() + limit;
  const auto left = [&] { return std::chrono::milliseconds(milliseconds_left(deadline)); };
  while (auto line = child.read_stdout_line(left())) run.stdout_text += *line + "\n";
  run.stderr_text = child.read_all_stderr(left());
  run.exit_code = child.wait(left() + std::chrono::seconds(1));
  return run;
}

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace testing_support
