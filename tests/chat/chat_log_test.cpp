#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "base/diagnostics.h"
#include "chat/chat_log.h"
#include "chat/line_format.h"
#include "tests/chat/chat_harness.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_checks.h"
#include "tests/support/text_files.h"

namespace fs = std::filesystem;
using testing_support::count_lines;
using testing_support::read_lines;
using testing_support::TempDir;

namespace {

// Captures what the log reports, as stderr would show it.
struct Reports {
  std::FILE* file = std::tmpfile();
  base::Diagnostics sink{::fileno(file), "test"};
  ~Reports() {
    sink.stop();
    std::fclose(file);
  }
  std::string text() {
    sink.flush(std::chrono::seconds(30));
    std::rewind(file);
    std::string out;
    char chunk[4096];
    std::size_t got = 0;
    while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0) out.append(chunk, got);
    return out;
  }
};

chat::MessageBatch batch_of(std::initializer_list<std::string> lines) {
  chat::MessageBatch batch{std::chrono::system_clock::now(), {}, 0};
  for (const auto& line : lines) {
    batch.lines += line + "\n";
    ++batch.count;
  }
  return batch;
}

}  // namespace

TEST_CASE("log: lines are appended with a local timestamp and offset, in order, and synced") {
  TempDir dir("chat-log-test");
  const auto path = dir.path() / "chat.txt";
  {
    std::ofstream earlier(path);
    earlier << "earlier line\n";
  }
  Reports reports;
  chat::ChatLog log(path.string(), reports.sink);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(log.add(batch_of({">>>(127.0.0.1, 5000):n" + std::to_string(i),
                              "<<<(::1, 7890):你好 " + std::to_string(i)})));
  }
  log.stop();
  CHECK_FALSE(log.add(batch_of({"late"})));
  CHECK(log.logged() == 2000);
  CHECK(log.failed() == 0);
  const auto lines = read_lines(path.string());
  REQUIRE(lines.size() == 2001);
  CHECK(lines[0] == "earlier line");  // appended, not truncated
  const std::regex format(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (>>>|<<<)\(.*, \d+\):.*)");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    REQUIRE(std::regex_match(lines[i], format));
  }
  CHECK(lines[1].ends_with(" >>>(127.0.0.1, 5000):n0"));
  CHECK(lines[2000].ends_with(" <<<(::1, 7890):你好 999"));
  CHECK(reports.text().empty());
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
}

TEST_CASE("log: an unwritable path is reported once, counted, and the chat goes on") {
  TempDir dir("chat-log-test");
  Reports reports;
  chat::ChatLog log((dir.path() / "no" / "such" / "dir" / "chat.txt").string(), reports.sink);
  for (int i = 0; i < 5; ++i) CHECK(log.add(batch_of({"a", "b"})));
  log.stop();
  CHECK(log.logged() == 0);
  CHECK(log.failed() == 10);
  const auto text = reports.text();
  CAPTURE(text);
  CHECK(count_lines(text) == 1);
  CHECK(text.find("No such file or directory") != std::string::npos);
  CHECK(text.find("chat goes on") != std::string::npos);
}

TEST_CASE("log: a directory as the log is reported once, and the chat goes on") {
  TempDir dir("chat-log-test");
  Reports reports;
  chat::ChatLog log(dir.path().string(), reports.sink);
  CHECK(log.add(batch_of({"a"})));
  CHECK(log.add(batch_of({"b"})));
  log.stop();
  CHECK(log.failed() == 2);
  const auto text = reports.text();
  CAPTURE(text);
  CHECK(count_lines(text) == 1);
  CHECK(text.find("directory") != std::string::npos);
}

TEST_CASE("log: a full device (/dev/full) is reported once and counted") {
  Reports reports;
  chat::ChatLog log("/dev/full", reports.sink);
  for (int i = 0; i < 20; ++i) CHECK(log.add(batch_of({"line " + std::to_string(i)})));
  log.stop();
  CHECK(log.logged() == 0);
  CHECK(log.failed() == 20);
  const auto text = reports.text();
  CAPTURE(text);
  CHECK(count_lines(text) == 1);
  CHECK(text.find("No space left on device") != std::string::npos);
}

TEST_CASE("log: a log file deleted while the chat runs is created again") {
  TempDir dir("chat-log-test");
  const auto path = dir.path() / "chat.txt";
  Reports reports;
  chat::ChatLog log(path.string(), reports.sink);
  REQUIRE(log.add(batch_of({"before"})));
  // Wait (bounded) until the first line is on disk, then delete the file under the writer.
  for (int i = 0; i < 3000 && log.logged() < 1; ++i) ::usleep(10'000);
  REQUIRE(log.logged() == 1);
  fs::remove(path);
  REQUIRE(log.add(batch_of({"after"})));
  log.stop();
  const auto lines = read_lines(path.string());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].ends_with(" after"));
  CHECK(reports.text().find("deleted") != std::string::npos);
}

TEST_CASE("log: a log renamed while the chat runs (logrotate) goes on in a new file") {
  TempDir dir("chat-log-test");
  const auto path = dir.path() / "chat.txt";
  const auto rotated = dir.path() / "chat.txt.1";
  Reports reports;
  chat::ChatLog log(path.string(), reports.sink);
  REQUIRE(log.add(batch_of({"before"})));
  for (int i = 0; i < 3000 && log.logged() < 1; ++i) ::usleep(10'000);
  REQUIRE(log.logged() == 1);
  fs::rename(path, rotated);  // what logrotate does, before it signals nobody
  REQUIRE(log.add(batch_of({"after 1"})));
  for (int i = 0; i < 3000 && log.logged() < 2; ++i) ::usleep(10'000);
  REQUIRE(log.add(batch_of({"after 2"})));
  log.stop();
  CHECK(log.logged() == 3);
  const auto old_lines = read_lines(rotated.string());
  REQUIRE(old_lines.size() == 1);
  CHECK(old_lines[0].ends_with(" before"));
  const auto new_lines = read_lines(path.string());
  REQUIRE(new_lines.size() == 2);
  CHECK(new_lines[0].ends_with(" after 1"));
  CHECK(new_lines[1].ends_with(" after 2"));
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0600);  // a chat history is private, the new file too
  const auto text = reports.text();
  CAPTURE(text);
  CHECK(count_lines(text) == 1);  // said once, not per line
  CHECK(text.find("moved") != std::string::npos);
}

TEST_CASE("log: a log whose last line was cut short gets the next line on a line of its own") {
  TempDir dir("chat-log-test");
  const auto path = dir.path() / "chat.txt";
  {
    std::ofstream earlier(path, std::ios::binary);
    earlier << "whole line\ncut";  // an earlier run's write was cut short (a full disk)
  }
  Reports reports;
  {
    chat::ChatLog log(path.string(), reports.sink);
    REQUIRE(log.add(batch_of({">>>(127.0.0.1, 5000):next run"})));
    log.stop();
    CHECK(log.logged() == 1);
  }
  const auto lines = read_lines(path.string());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "whole line");
  CHECK(lines[1] == "cut");
  CHECK(chat_test::without_timestamp(lines[2]) == ">>>(127.0.0.1, 5000):next run");
  CHECK(testing_support::read_file(path.string()).ends_with("\n"));
}

TEST_CASE("log: timestamps never go backwards, whatever time the producers put on their batches") {
  TempDir dir("chat-log-test");
  const auto path = dir.path() / "chat.txt";
  Reports reports;
  const auto start =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  {
    chat::ChatLog log(path.string(), reports.sink);
    for (int i = 0; i < 100; ++i) {
      auto batch = batch_of({"<<<(::1, 7890):line " + std::to_string(i)});
      // A producer that read the clock long before it queued its batch (it was preempted, or
      // waited for room): the log must not write an older time after a newer one.
      if (i % 2 == 1) batch.time -= std::chrono::hours(1);
      REQUIRE(log.add(std::move(batch)));
    }
    log.stop();
  }
  const auto lines = read_lines(path.string());
  REQUIRE(lines.size() == 100);
  int backwards = 0;
  int before_start = 0;  // stamped when it was logged, not when the producer says
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto time = chat_test::log_time(lines[i]);
    REQUIRE(time);
    if (*time < start) ++before_start;
    if (i > 0 && *time < *chat_test::log_time(lines[i - 1])) ++backwards;
  }
  CHECK(backwards == 0);
  CHECK(before_start == 0);
}

TEST_CASE("timestamps: local time with milliseconds and a +HH:MM / -HH:MM offset") {
  const char* saved = std::getenv("TZ");
  const std::string saved_tz = saved != nullptr ? saved : "";
  const auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795313730123));
  // POSIX TZ strings need no tz database: "CST-8" is UTC+8.
  ::setenv("TZ", "CST-8", 1);
  ::tzset();
  CHECK(chat::LogLineFormatter().timestamp(at) == "2026-11-22T10:15:30.123+08:00");
  ::setenv("TZ", "IST-5:30", 1);
  ::tzset();
  CHECK(chat::LogLineFormatter().timestamp(at) == "2026-11-22T07:45:30.123+05:30");
  ::setenv("TZ", "EST5", 1);
  ::tzset();
  chat::LogLineFormatter formatter;
  CHECK(formatter.timestamp(at) == "2026-11-21T21:15:30.123-05:00");
  CHECK(formatter.timestamp(at + std::chrono::milliseconds(5)) == "2026-11-21T21:15:30.128-05:00");
  CHECK(formatter.timestamp(at + std::chrono::milliseconds(900)) ==
        "2026-11-21T21:15:31.023-05:00");
  ::setenv("TZ", "UTC0", 1);
  ::tzset();
  CHECK(chat::LogLineFormatter().timestamp(at) == "2026-11-22T02:15:30.123+00:00");
  if (saved != nullptr) {
    ::setenv("TZ", saved_tz.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
}
