#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "chat/line_reader.h"

using namespace std::chrono_literals;
using Status = chat::LineReader::Status;

namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    close_write();
    ::close(read_end);
  }
  void write(const std::string& text) {
    REQUIRE(::write(write_end, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  void close_write() {
    if (write_end >= 0) ::close(write_end);
    write_end = -1;
  }
};

}  // namespace

TEST_CASE("line reader: lines, CRLF, a last line without newline, EOF") {
  Pipe pipe;
  chat::LineReader reader(pipe.read_end);
  pipe.write("one\ntwo\r\n\nthree");
  pipe.close_write();
  std::string line;
  REQUIRE(reader.next(line) == Status::line);
  CHECK(line == "one");
  REQUIRE(reader.next(line) == Status::line);
  CHECK(line == "two");
  REQUIRE(reader.next(line) == Status::line);
  CHECK(line == "");
  REQUIRE(reader.next(line) == Status::line);
  CHECK(line == "three");
  CHECK(reader.next(line) == Status::end_of_input);
}

TEST_CASE("line reader: an over-long line is dropped and reported, the next one is read") {
  Pipe pipe;
  chat::LineReader reader(pipe.read_end, 1000);
  std::string line;
  auto reading = std::async(std::launch::async, [&] {
    std::vector<Status> statuses;
    for (int i = 0; i < 3; ++i) statuses.push_back(reader.next(line));
    return statuses;
  });
  pipe.write(std::string(5000, 'x') + "\nok\n");
  pipe.close_write();
  REQUIRE(reading.wait_for(30s) == std::future_status::ready);
  const auto statuses = reading.get();
  CHECK(statuses[0] == Status::too_long);
  CHECK(statuses[1] == Status::line);
  CHECK(line == "ok");
  CHECK(statuses[2] == Status::end_of_input);
}

TEST_CASE("line reader: interrupt() wakes a reader blocked on a silent input") {
  Pipe pipe;
  chat::LineReader reader(pipe.read_end);
  std::string line;
  auto reading = std::async(std::launch::async, [&] { return reader.next(line); });
  CHECK(reading.wait_for(50ms) == std::future_status::timeout);
  reader.interrupt();
  REQUIRE(reading.wait_for(30s) == std::future_status::ready);
  CHECK(reading.get() == Status::interrupted);
  CHECK(reader.next(line) == Status::interrupted);
}
