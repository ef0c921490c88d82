// Smoke test of scripts/load_test.sh: a tiny sweep with this build's programs, then a look at the
// files it wrote. Checks contents and shape, never the figures' size (no timing assertions).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using testing_support::read_file;

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

}  // namespace

TEST_CASE("load_test.sh --smoke writes results.csv, results.json, summary.md and PNG plots") {
  const char* source = SUITE_SOURCE_DIR;
  const char* bin = std::getenv("SUITE_BIN_DIR");
  REQUIRE(source != nullptr);
  REQUIRE(bin != nullptr);
  const testing_support::TempDir scratch("load-test-smoke");
  const auto out = scratch.path() / "results";
  const auto result = testing_support::run_command("timeout 280 " + std::string(source) +
                                                   "/scripts/load_test.sh --smoke --bin-dir " +
                                                   bin + " --out " + out.string());
  REQUIRE(result.exit_code == 0);
  CHECK(result.output.find(out.string()) != std::string::npos);  // prints where the results are

  // results.csv: the header, then one row per point (2 connection counts x 2 sizes).
  const auto csv = split(read_file((out / "results.csv").string()), '\n');
  REQUIRE(csv.size() == 5);
  const auto header = split(csv[0], ',');
  for (const char* column : {"server", "connections", "size", "msgs_per_s", "p99_us", "mismatches",
                             "cpu_us_per_msg", "rss_peak_kb", "threads_peak"}) {
    CHECK_MESSAGE(std::find(header.begin(), header.end(), std::string(column)) != header.end(),
                  column);
  }
  for (std::size_t row = 1; row < csv.size(); ++row) {
    const auto fields = split(csv[row], ',');
    CAPTURE(csv[row]);
    REQUIRE(fields.size() == header.size());
    CHECK(fields[0] == "threads");       // the default engine, named as --engines names it
    CHECK(std::stoull(fields[6]) > 0);   // msgs echoed
    CHECK(fields[14] == "0");            // mismatches
    CHECK(fields[15] == "0");            // connect failures
    CHECK(std::stoull(fields[18]) > 0);  // RSS seen
    CHECK(std::stoull(fields[19]) > 0);  // threads seen
    CHECK(fields[20] == "0");            // the server stopped cleanly on SIGTERM
  }

  // results.json: the suite's header, then structured figures (docs/json.md).
  const auto json = read_file((out / "results.json").string());
  CHECK(json.find("\"schema\": \"echo-chat-suite/load-test\"") != std::string::npos);
  CHECK(json.find("\"schema_version\": 1") != std::string::npos);
  CHECK(json.find("\"started_at\": \"") != std::string::npos);
  CHECK(json.find("\"version\": \"unknown\"") == std::string::npos);  // echo-server's own
  CHECK(json.find("\"--smoke\"") != std::string::npos);  // the command line, argument by argument
  CHECK(json.find("\"points\": [") != std::string::npos);
  CHECK(json.find("\"msgs_per_s\": {") != std::string::npos);
  CHECK(json.find("\"mode\": \"smoke\"") != std::string::npos);
  CHECK(json.find("sent=") == std::string::npos);  // no key=value text left

  const auto summary = read_file((out / "summary.md").string());
  CHECK(summary.find("| kind | server | conns |") != std::string::npos);
  CHECK(summary.find("| sweep | threads | 4 | 16384 |") != std::string::npos);
  CHECK(summary.find("## UDP flood into udp-chat") != std::string::npos);
  CHECK(summary.find("| sent | received | lost |") != std::string::npos);
  CHECK(summary.find("## Bulk transfer") != std::string::npos);

  for (const char* plot :
       {"throughput.png", "p50.png", "p99.png", "cpu.png", "rss.png", "threads.png"}) {
    const auto png = read_file((out / plot).string());
    CAPTURE(plot);
    REQUIRE(png.size() > 8);
    CHECK(png.substr(1, 3) == "PNG");
  }
}

TEST_CASE("load_test.sh --engines and --compare epoll put every server side by side") {
  const char* source = SUITE_SOURCE_DIR;
  const char* bin = std::getenv("SUITE_BIN_DIR");
  REQUIRE(source != nullptr);
  REQUIRE(bin != nullptr);
  const testing_support::TempDir scratch("load-test-engines");
  const auto out = scratch.path() / "results";
  const auto err = scratch.path() / "stderr.txt";
  // uring may not start on this kernel or build: then it is skipped with one line, not fatal.
  const auto result = testing_support::run_command(
      "timeout 280 " + std::string(source) +
      "/scripts/load_test.sh --smoke --no-udp --engines threads,async,async:1,uring "
      "--compare epoll --bin-dir " +
      bin + " --out " + out.string() + " 2>" + err.string());
  const auto log = read_file(err.string());
  CAPTURE(log);
  REQUIRE(result.exit_code == 0);
  const bool uring_skipped = log.find("load_test.sh: skipping engine uring: ") != std::string::npos;
  std::vector<std::string> servers = {"threads", "async", "async:1"};
  if (!uring_skipped) servers.push_back("uring");
  servers.push_back("epoll");

  // results.csv: a row per server and point (2 connection counts x 2 sizes), none for a skipped
  // engine.
  const auto csv = split(read_file((out / "results.csv").string()), '\n');
  CHECK(csv.size() == 1 + servers.size() * 4);
  for (const auto& server : servers) {
    CAPTURE(server);
    CHECK(std::count_if(csv.begin(), csv.end(), [&](const std::string& row) {
            return row.starts_with(server + ",sweep,");
          }) == 4);
  }
  CHECK(std::none_of(csv.begin(), csv.end(), [&](const std::string& row) {
    return uring_skipped && row.starts_with("uring,");
  }));

  // summary.md: one table per size, a column pair per server, ratios against epoll.
  const auto summary = read_file((out / "summary.md").string());
  CHECK(summary.find("## Servers side by side") != std::string::npos);
  CHECK(summary.find("### 64 B messages") != std::string::npos);
  CHECK(summary.find("### 16 KiB messages") != std::string::npos);
  std::string header = "| conns |";
  for (const auto& server : servers)
    header += " " + server + " msgs/s | " + server + " CPU µs/msg |";
  CHECK(summary.find(header) != std::string::npos);
  CHECK(summary.find("| async:1 vs epoll: msgs/s, CPU |") != std::string::npos);
  CHECK(summary.find("| 4 | ") != std::string::npos);
  CHECK(summary.find("| sweep | async:1 | 4 | 64 |") != std::string::npos);
  CHECK(summary.find("| sweep | epoll | 1 | 16384 |") != std::string::npos);
  CHECK((summary.find("| sweep | uring |") == std::string::npos) == uring_skipped);

  for (const char* plot :
       {"throughput.png", "p50.png", "p99.png", "cpu.png", "rss.png", "threads.png"}) {
    const auto png = read_file((out / plot).string());
    CAPTURE(plot);
    REQUIRE(png.size() > 8);
    CHECK(png.substr(1, 3) == "PNG");
  }
}
