#include "tests/support/process.h"

#include <dirent.h>
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
#include <stdexcept>

namespace testing_support {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

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
    const int wait_ms = remaining_ms(deadline);
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
    if (stdout_eof_ || remaining_ms(deadline) == 0) return std::nullopt;
    drain(stdout_fd_, stdout_buffer_, std::chrono::milliseconds(remaining_ms(deadline)), false);
  }
}

std::optional<std::string> ChildProcess::wait_for_stdout(const std::string& needle,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = read_stdout_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
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
    if (remaining_ms(deadline) == 0) return std::nullopt;
    ::usleep(10'000);
  }
}

RunningServer start_echo_server(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv{program_path("echo-server"), "--port", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  RunningServer server;
  server.process = std::make_unique<ChildProcess>(argv);
  const auto line = server.process->wait_for_stdout("listening on ", std::chrono::seconds(30));
  if (!line) {
    throw std::runtime_error("echo-server did not start: " +
                             server.process->read_all_stderr(std::chrono::seconds(1)));
  }
  server.port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  return server;
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

std::size_t count_open_fds(pid_t pid) {
  std::size_t count = 0;
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* dir = ::opendir(path.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
  }
  return count;
}

std::size_t count_threads(pid_t pid) {
  std::size_t count = 0;
  const std::string path = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* dir = ::opendir(path.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
  }
  return count;
}

}  // namespace testing_support
