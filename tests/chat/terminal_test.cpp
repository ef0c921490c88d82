#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "base/diagnostics.h"
#include "chat/terminal.h"

using namespace std::chrono_literals;

TEST_CASE("terminal: lines arrive whole and in order") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  std::FILE* errors = std::tmpfile();
  base::Diagnostics sink(::fileno(errors), "test");
  std::string got;
  {
    chat::Terminal terminal(fds[1], sink);
    terminal.show(">>>(1.2.3.4, 5):a\n>>>(1.2.3.4, 5):b\n", 2, false);
    CHECK(terminal.say("prompt"));
    terminal.stop();
    CHECK(terminal.not_shown() == 0);
  }
  ::close(fds[1]);
  char chunk[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], chunk, sizeof(chunk))) > 0) {
    got.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  sink.stop();
  std::fclose(errors);
  CHECK(got == ">>>(1.2.3.4, 5):a\n>>>(1.2.3.4, 5):b\nprompt\n");
}

TEST_CASE("terminal: a reader that never reads costs bounded memory, and stop() gives up on it") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  std::FILE* errors = std::tmpfile();
  base::Diagnostics sink(::fileno(errors), "test");
  chat::Terminal terminal(fds[1], sink, 1 << 20);
  const std::string line(999, 'x');
  for (int i = 0; i < 10000; ++i) terminal.show(line + "\n", 1, true);  // ~10 MB offered
  CHECK(terminal.not_shown() > 0);  // a 64 KiB pipe plus 1 MiB queued cannot hold it all
  terminal.stop(100ms);
  CHECK(terminal.not_shown() + 1100 >= 10000);
  sink.stop();
  std::rewind(errors);
  char text[512] = {};
  CHECK(std::fread(text, 1, sizeof(text) - 1, errors) > 0);
  CHECK(std::string(text).find("too slow") != std::string::npos);
  std::fclose(errors);
  ::close(fds[0]);
  ::close(fds[1]);
}
