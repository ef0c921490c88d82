// The diagnostics sink: lines arrive whole and in order, a stderr nobody reads or one that fails
// never blocks or throws at a caller, and what is lost is counted and said.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "base/diagnostics.h"

using namespace std::chrono_literals;

namespace {

// Everything in a file descriptor from its start.
std::string read_all(int fd) {
  std::string text;
  char chunk[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t got; (got = ::read(fd, chunk, sizeof(chunk))) > 0;) text.append(chunk, got);
  return text;
}

struct Pipe {
  int read_end = -1, write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    ::close(read_end);
    ::close(write_end);
  }
  // Reads what is there now, waiting at most `wait` for the first byte.
  std::string read_some(std::chrono::milliseconds wait) const {
    pollfd ready{read_end, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(wait.count())) <= 0) return {};
    char chunk[65536];
    const ssize_t got = ::read(read_end, chunk, sizeof(chunk));
    return got > 0 ? std::string(chunk, static_cast<std::size_t>(got)) : std::string();
  }
};

}  // namespace

TEST_CASE("diagnostics: lines from many threads arrive whole, each thread's in order") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  {
    base::Diagnostics sink(::fileno(file), "prog");
    std::vector<std::jthread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&sink, t] {
        for (int i = 0; i < 500; ++i) sink.print("thread {} line {}", t, i);
      });
    }
    writers.clear();  // joins
    sink.error("last");
    REQUIRE(sink.flush(30s));
    CHECK(sink.dropped() == 0);
  }
  const auto text = read_all(::fileno(file));
  int next[4] = {0, 0, 0, 0};
  std::size_t at = 0;
  int lines = 0;
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    REQUIRE(end != std::string::npos);
    const auto line = text.substr(at, end - at);
    at = end + 1;
    ++lines;
    int t = -1, i = -1;
    if (std::sscanf(line.c_str(), "thread %d line %d", &t, &i) == 2) {
      REQUIRE(t >= 0);
      REQUIRE(t < 4);
      CHECK(i == next[t]);
      next[t] = i + 1;
    } else {
      CHECK(line == "prog: last");
    }
  }
  CHECK(lines == 2001);
  std::fclose(file);
}

TEST_CASE(
    "diagnostics: a stderr nobody reads never blocks a caller; the loss is counted, then said") {
  Pipe pipe;
  base::Diagnostics sink(pipe.write_end, "prog", {.max_lines = 64, .max_bytes = 64 * 1024});
  const std::string filler(200, 'x');
  // Far more than the pipe (64 KiB) and the backlog hold: every call still returns.
  for (int i = 0; i < 5000; ++i) sink.print("{} {}", i, filler);
  CHECK(sink.dropped() > 0);
  // The reader comes back: the backlog drains, then one line says how much was lost.
  std::string seen;
  for (int round = 0; round < 600 && seen.find("dropped") == std::string::npos; ++round) {
    seen += pipe.read_some(100ms);
  }
  CHECK(seen.find("prog: ") != std::string::npos);
  CHECK(seen.find(" diagnostic lines dropped: stderr did not keep up") != std::string::npos);
}

TEST_CASE("diagnostics: stop() gives up on a reader that never reads, and counts what it drops") {
  Pipe pipe;
  base::Diagnostics sink(pipe.write_end, "prog");
  const std::string filler(1000, 'y');
  for (int i = 0; i < 200; ++i) sink.line(filler);  // 200 KB: more than the pipe takes
  sink.stop(200ms);  // returns: the test would hang (and time out) if it did not
  CHECK(sink.dropped() > 0);
  sink.line("after the stop");  // refused and counted, never written
  const auto dropped = sink.dropped();
  sink.line("again");
  CHECK(sink.dropped() == dropped + 1);
}

TEST_CASE("diagnostics: a failing stderr (/dev/full) costs lines, never the program") {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) {
    MESSAGE("skipped: no /dev/full here");
    return;
  }
  {
    base::Diagnostics sink(full, "prog");
    for (int i = 0; i < 10; ++i) sink.print_error("line {}", i);
    REQUIRE(sink.flush(30s));
    CHECK(sink.dropped() == 10);  // and no report of the loss: it could not be written either
  }
  ::close(full);
}

TEST_CASE("diagnostics: a closed pipe (the reader went away) costs lines, never the program") {
  Pipe pipe;
  ::close(pipe.read_end);
  pipe.read_end = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // keeps the destructor simple
  std::signal(SIGPIPE, SIG_IGN);
  base::Diagnostics sink(pipe.write_end, "prog");
  sink.line("nobody hears this");
  REQUIRE(sink.flush(30s));
  CHECK(sink.dropped() == 1);
}
