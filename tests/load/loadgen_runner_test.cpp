// The loadgen program's pieces in load/: configuration errors without option names, a run
// stopped by a signal, the JSON report file, the exit code, the UDP progress line. No network, no
// timing assertions; every wait is bounded.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/config_error.h"
#include "load/loadgen_runner.h"
#include "load/report.h"
#include "load/tcp_load.h"
#include "load/udp_flood.h"

using namespace std::chrono_literals;

namespace {

// Stands in for net::SignalWaiter: wait() returns a raised signal's number, or 0 once cancelled.
// Bounded: a wait gives up (returns 0) after 10 s.
class FakeSignals {
 public:
  void raise(int number) {
    std::lock_guard lock(mutex_);
    raised_ = number;
    wake_.notify_all();
  }
  int wait() {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, 10s, [this] { return raised_ != 0 || cancelled_; });
    return raised_;
  }
  void cancel() noexcept {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    wake_.notify_all();
  }
  bool cancelled() {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  int raised_ = 0;
  bool cancelled_ = false;
};

// A job like TcpLoad: run() reports progress once, then runs until stop() (bounded: 10 s) unless
// it is told to finish at once or to throw.
class FakeJob {
 public:
  enum class Mode { until_stopped, finish_at_once, throw_at_once };
  explicit FakeJob(Mode mode) : mode_(mode) {}

  std::string run(const std::function<void(int)>& progress) {
    progress(1);
    if (mode_ == Mode::throw_at_once) throw std::runtime_error("job failed");
    if (mode_ == Mode::finish_at_once) return "finished";
    std::unique_lock lock(mutex_);
    const bool stopped = wake_.wait_for(lock, 10s, [this] { return stopped_; });
    return stopped ? "stopped" : "not stopped";
  }
  void stop() noexcept {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  Mode mode_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
};

std::string field_of_error(const load::TcpLoadConfig& config) {
  try {
    load::TcpLoad job(config);
  } catch (const load::ConfigError& error) {
    CHECK(std::string(error.what()) == error.field() + " " + error.requirement());
    CHECK(error.what()[0] != '-');  // the field, never a command-line option
    return error.field();
  }
  return "";
}

}  // namespace

TEST_CASE("loadgen runner: a TCP configuration that cannot run names the config field") {
  const load::TcpLoadConfig good;
  CHECK(field_of_error(good) == "");
  auto bad = good;
  bad.connections = 0;
  CHECK(field_of_error(bad) == "connections");
  bad = good;
  bad.message_size = 0;
  CHECK(field_of_error(bad) == "message_size");
  bad = good;
  bad.depth = 0;
  CHECK(field_of_error(bad) == "depth");
  bad = good;
  bad.duration_s = 0;
  CHECK(field_of_error(bad) == "duration_s");
  bad = good;
  bad.warmup_s = -1;
  CHECK(field_of_error(bad) == "warmup_s");
  bad = good;
  bad.rate = -1;
  CHECK(field_of_error(bad) == "rate");
  bad = good;
  bad.connect_rate = -1;
  CHECK(field_of_error(bad) == "connect_rate");
  bad = good;
  bad.connect_timeout_s = 0;
  CHECK(field_of_error(bad) == "connect_timeout_s");
}

TEST_CASE("loadgen runner: a UDP configuration that cannot run names the config field") {
  load::UdpFloodConfig config;
  config.size = load::kMinDatagramSize - 1;
  try {
    load::UdpFlood job(config);
    FAIL("a 9-byte datagram was accepted");
  } catch (const load::ConfigError& error) {
    CHECK(error.field() == "size");
    CHECK(std::string(error.what()).starts_with("size must be from 10 to 65507 bytes"));
  }
  config.size = 64;
  config.rate = -1;
  CHECK_THROWS_WITH_AS(load::UdpFlood{config}, "rate must not be negative", load::ConfigError);
}

TEST_CASE("loadgen runner: a TCP pace slower than one message a day cannot run") {
  load::TcpLoadConfig config;
  config.connections = 10;
  config.rate = 1e-9;  // 10^10 s between one connection's messages: beyond the clock
  CHECK(field_of_error(config) == "rate");
  config.rate = 10 / (load::kLongestPacedWaitSeconds - 1);  // a second short of a day
  CHECK(field_of_error(config) == "");
  config.rate = 0;
  config.connect_rate = 1e-9;
  CHECK(field_of_error(config) == "connect_rate");
  config.connect_rate = 10 / (load::kLongestPacedWaitSeconds - 1);
  CHECK(field_of_error(config) == "");
}

TEST_CASE("udp flood: no count it accepts can repeat a sequence number") {
  // Every number below kMaxDatagramCount has its own kSequenceDigits digits ...
  std::uint64_t power_of_ten = 1;
  for (std::size_t i = 0; i < load::kSequenceDigits; ++i) power_of_ten *= 10;
  CHECK(load::kMaxDatagramCount == power_of_ten);
  std::vector<std::byte> last(load::kMinDatagramSize), first(load::kMinDatagramSize);
  load::fill_datagram(load::kMaxDatagramCount - 1, last);
  load::fill_datagram(0, first);
  CHECK(load::datagram_sequence(last) == load::kMaxDatagramCount - 1);
  CHECK(last != first);
  // ... and the number after them would read as 0 again, so a flood stops short of it.
  std::vector<std::byte> wrapped(load::kMinDatagramSize);
  load::fill_datagram(load::kMaxDatagramCount, wrapped);
  CHECK(wrapped == first);
  load::UdpFloodConfig config;
  config.count = load::kMaxDatagramCount;
  CHECK_NOTHROW(load::UdpFlood{config});
  config.count = 10'000'000'001;
  try {
    load::UdpFlood job(config);
    FAIL("a flood of 10,000,000,001 datagrams was accepted: its last number repeats the first");
  } catch (const load::ConfigError& error) {
    CHECK(error.field() == "count");
  }
}

TEST_CASE("udp flood: a pace slower than one datagram a day cannot run") {
  load::UdpFloodConfig config;
  config.rate = 1e-9;
  try {
    load::UdpFlood job(config);
    FAIL("a rate of 1e-9 datagrams/s was accepted");
  } catch (const load::ConfigError& error) {
    CHECK(error.field() == "rate");
  }
  config.rate = 1 / (load::kLongestDatagramIntervalSeconds - 1);
  CHECK_NOTHROW(load::UdpFlood{config});
}

TEST_CASE("loadgen runner: a signal stops the job, which returns its result as usual") {
  FakeSignals signals;
  FakeJob job(FakeJob::Mode::until_stopped);
  signals.raise(SIGINT);
  int progress_calls = 0;
  const auto result = load::run_stoppable(signals, job, [&](int) { ++progress_calls; });
  CHECK(result == "stopped");
  CHECK(progress_calls == 1);
  CHECK(signals.cancelled());
}

TEST_CASE("loadgen runner: a job that ends by itself ends the signal wait, stops nothing") {
  FakeSignals signals;
  FakeJob job(FakeJob::Mode::finish_at_once);
  CHECK(load::run_stoppable(signals, job, [](int) {}) == "finished");
  CHECK(signals.cancelled());
  CHECK_FALSE(job.stopped());
}

TEST_CASE("loadgen runner: a job that throws still ends the signal wait, and the error passes") {
  FakeSignals signals;
  FakeJob job(FakeJob::Mode::throw_at_once);
  CHECK_THROWS_WITH_AS(load::run_stoppable(signals, job, [](int) {}), "job failed",
                       std::runtime_error);
  CHECK(signals.cancelled());
}

TEST_CASE("loadgen runner: the report file is opened before the run, written whole at its end") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("loadgen_runner_test_" + std::to_string(::getpid()));
  std::filesystem::create_directory(dir);
  const auto path = dir / "run.json";
  {
    load::ReportOutput output(path.string());
    CHECK(std::filesystem::exists(path));  // opened (created) at once
    output.write(nlohmann::json{{"a", 1}});
  }
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "{\n  \"a\": 1\n}\n");
  {
    load::ReportOutput output(path.string());  // an existing file is replaced, not appended to
    output.write(nlohmann::json{{"b", 2}});
  }
  std::ifstream again(path);
  const std::string replaced((std::istreambuf_iterator<char>(again)),
                             std::istreambuf_iterator<char>());
  CHECK(replaced == "{\n  \"b\": 2\n}\n");
  // A run that fails writes nothing: a file created for it goes again, an old one stays.
  const auto unused = dir / "unused.json";
  { load::ReportOutput output(unused.string()); }
  CHECK(!std::filesystem::exists(unused));
  { load::ReportOutput output(path.string()); }
  CHECK(std::filesystem::file_size(path) == replaced.size());

  const auto missing = (dir / "no" / "such" / "folder.json").string();
  CHECK_THROWS_WITH_AS(load::ReportOutput{missing},
                       ("'" + missing + "': No such file or directory").c_str(),
                       load::ReportPathError);
  CHECK_THROWS_WITH_AS(load::ReportOutput{dir.string()},
                       ("'" + dir.string() + "': Is a directory").c_str(), load::ReportPathError);
  CHECK(!load::ReportOutput("").enabled());
  CHECK(load::ReportOutput("-").to_stdout());
  std::filesystem::remove_all(dir);
}

TEST_CASE("loadgen runner: exit 1 when nothing connected, or anything failed") {
  load::TcpLoadResult result;
  CHECK(load::tcp_exit_code(result) == load::kExitFailed);
  result.stopped_early = true;  // a signal during the connect phase
  CHECK(load::tcp_exit_code(result) == load::kExitCompleted);
  result.stopped_early = false;
  result.connections_established = 3;
  CHECK(load::tcp_exit_code(result) == load::kExitCompleted);
  for (auto field : {&load::TcpCounters::resets, &load::TcpCounters::short_echoes,
                     &load::TcpCounters::other_errors, &load::TcpCounters::mismatches,
                     &load::TcpCounters::connect_failures}) {
    load::TcpLoadResult failed = result;
    failed.totals.*field = 1;
    CHECK(load::tcp_exit_code(failed) == load::kExitFailed);
    CHECK(!load::tcp_failures(failed.totals).empty());
  }
  result.totals.short_echoes = 4;
  result.totals.mismatches = 1;
  CHECK(load::tcp_failures(result.totals) == "4 short echoes, 1 mismatch");
}

TEST_CASE("loadgen runner: the UDP progress line") {
  CHECK(load::udp_progress_line(60000, 2, 3.0) == "[   3s] sent 60000 (20000/s) send errors 2");
  CHECK(load::udp_progress_line(0, 0, 0.0) == "[   0s] sent 0 (0/s) send errors 0");
}
