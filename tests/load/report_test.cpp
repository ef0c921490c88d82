// The JSON report (docs/json.md) and `loadgen merge` on reports built here: the keys and their
// types, a merge with itself, a merge of two different runs against the histogram of their
// union, and the reports a merge refuses. No network.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/report.h"
#include "load/tcp_load_types.h"
#include "load/udp_flood.h"
#include "tests/support/temp_dir.h"

using nlohmann::json;
using testing_support::TempDir;

namespace {

load::RunInfo test_info() {
  const char* argv[] = {"loadgen", "tcp", "127.0.0.1:7", "--json", "-"};
  return load::describe_run(5, argv);
}

load::TcpLoadConfig tcp_config(std::size_t size = 64) {
  load::TcpLoadConfig config;
  config.target = {"127.0.0.1", 7};
  config.connections = 4;
  config.message_size = size;
  config.duration_s = 2;
  return config;
}

// A finished run whose latencies are drawn from a lognormal around e^`mu` ns.
load::TcpLoadResult tcp_result(unsigned seed, double mu, bool open_loop) {
  load::TcpLoadResult result;
  std::mt19937_64 random(seed);
  std::lognormal_distribution<double> latency(mu, 1.2);
  for (int i = 0; i < 5000; ++i) {
    const auto v = static_cast<std::uint64_t>(latency(random));
    result.latency.record(v);
    if (open_loop) result.service.record(v / 2);
  }
  result.open_loop = open_loop;
  result.totals.messages = 5000;
  result.totals.bytes = 5000 * 64;
  result.totals.resets = seed % 2;
  result.measured_s = 2.0;
  result.connections_established = 4;
  result.threads = 2;
  result.series.push_back(load::SecondSample{});
  return result;
}

void check_number_keys(const json& object, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    CAPTURE(key);
    REQUIRE(object.contains(key));
    CHECK(object[key].is_number());
  }
}

void check_envelope(const json& report, const std::string& mode) {
  CHECK(report.at("schema") == "echo-chat-suite/loadgen");
  CHECK(report.at("schema_version") == 1);
  CHECK(report.at("version").is_string());
  CHECK(!report.at("version").get<std::string>().empty());
  // ISO 8601 with an offset: 2026-12-02T03:05:09+01:00
  const auto started = report.at("started_at").get<std::string>();
  CHECK(started.size() == 25);
  CHECK(started[10] == 'T');
  CHECK((started[19] == '+' || started[19] == '-'));
  CHECK(started[22] == ':');
  CHECK(report.at("host").is_string());
  CHECK(report.at("command_line").is_array());
  CHECK(report.at("command_line").at(0) == "loadgen");
  CHECK(report.at("mode") == mode);
  CHECK(report.at("config").is_object());
  CHECK(report.at("results").is_object());
}

std::string write_file(const TempDir& dir, const std::string& name, const json& content) {
  const auto path = dir.file(name);
  std::ofstream(path) << content.dump(2);
  return path;
}

}  // namespace

TEST_CASE("report: a tcp run has every documented key, of the documented type") {
  const auto report = load::tcp_report(test_info(), tcp_config(), tcp_result(1, 10, true));
  check_envelope(report, "tcp");
  check_number_keys(report["config"],
                    {"port", "connections", "message_bytes", "duration_s", "warmup_s", "depth",
                     "rate", "connect_rate", "connect_timeout_s", "threads"});
  CHECK(report["config"]["host"] == "127.0.0.1");
  const auto& r = report["results"];
  check_number_keys(r, {"msgs",           "bytes",          "seconds",        "msgs_per_s",
                        "MB_per_s",       "p50_us",         "p90_us",         "p99_us",
                        "p999_us",        "max_us",         "min_us",         "mean_us",
                        "service_p50_us", "service_p90_us", "service_p99_us", "service_p999_us",
                        "service_max_us", "errors",         "mismatches",     "connect_failures",
                        "resets",         "short_echoes",   "other_errors",   "connections",
                        "connect_phase_s"});
  CHECK(r["latency_from"] == "schedule");
  for (const char* key : {"failed", "stopped_early", "stopped_by_signal", "all_connections_lost"}) {
    CAPTURE(key);
    CHECK(r.at(key).is_boolean());
  }
  CHECK(r["failed"] == true);  // one reset
  CHECK(r["failures"] == "1 reset");
  CHECK(r.at("series").is_array());
  for (const char* key : {"latency_histogram", "service_histogram"}) {
    CAPTURE(key);
    const auto& h = r.at(key);
    check_number_keys(h,
                      {"sub_bucket_bits", "max_exponent", "count", "min_ns", "max_ns", "sum_ns"});
    CHECK(h["count"] == 5000);
    REQUIRE(h.at("buckets").is_array());
    REQUIRE(!h["buckets"].empty());
    CHECK(h["buckets"][0].size() == 4);  // [index, low_ns, high_ns, count]
  }
  // Closed loop: one latency, from the write; no service_* keys.
  const auto closed = load::tcp_report(test_info(), tcp_config(), tcp_result(2, 10, false));
  CHECK(closed["results"]["latency_from"] == "send");
  CHECK(!closed["results"].contains("service_p99_us"));
  CHECK(!closed["results"].contains("service_histogram"));
  CHECK(closed["results"]["failed"] == false);
}

TEST_CASE("report: a udp run has every documented key, of the documented type") {
  load::UdpFloodConfig config;
  config.target = {"::1", 9};
  load::UdpFloodResult result;
  result.sent = 100;
  result.elapsed_s = 0.5;
  const auto report = load::udp_report(test_info(), config, result);
  check_envelope(report, "udp");
  check_number_keys(report["config"], {"port", "count", "rate", "message_bytes"});
  check_number_keys(report["results"],
                    {"sent", "send_errors", "seconds", "msgs_per_s", "MB_per_s"});
  CHECK(report["results"]["msgs_per_s"] == 200.0);
  CHECK(report["results"]["stopped_early"].is_boolean());
  CHECK(report["results"]["first_error"].is_string());
}

TEST_CASE("report: a run merged with itself doubles counts and rates and keeps its percentiles") {
  TempDir dir("report-test");
  const auto run = load::tcp_report(test_info(), tcp_config(), tcp_result(3, 11, true));
  const auto path = write_file(dir, "run.json", run);
  const auto read = load::read_report(path);
  const auto merged = load::merge_reports(test_info(), {{path, read}, {path, read}});
  const auto& m = merged.report;
  check_envelope(m, "tcp");
  REQUIRE(m.at("merged_from").size() == 2);
  CHECK(m["merged_from"][0]["file"] == path);
  CHECK(m["merged_from"][0]["started_at"] == run["started_at"]);
  CHECK(m["config"]["connections"] == 8);
  const auto &r = m["results"], &one = run["results"];
  for (const char* key : {"msgs", "bytes", "resets", "errors", "connections"}) {
    CAPTURE(key);
    CHECK(r[key].get<std::uint64_t>() == 2 * one[key].get<std::uint64_t>());
  }
  CHECK(r["msgs_per_s"].get<double>() == doctest::Approx(2 * one["msgs_per_s"].get<double>()));
  CHECK(r["seconds"] == one["seconds"]);
  for (const char* key : {"p50_us", "p90_us", "p99_us", "p999_us", "max_us", "min_us",
                          "service_p50_us", "service_p99_us", "service_max_us"}) {
    CAPTURE(key);
    CHECK(r[key] == one[key]);
  }
  CHECK(r["latency_histogram"]["count"] == 10000);
  CHECK(!r.contains("series"));
  CHECK(merged.summary_line.starts_with("summary: msgs=10000 "));
  CHECK(merged.failures == "2 resets");
}

TEST_CASE("report: two different runs merge into the percentiles of their union") {
  TempDir dir("report-test");
  const auto a = tcp_result(4, 9, false), b = tcp_result(6, 12, false);
  load::LatencyHistogram all = a.latency;
  all.merge(b.latency);
  const auto pa = write_file(dir, "a.json", load::tcp_report(test_info(), tcp_config(), a));
  const auto pb = write_file(dir, "b.json", load::tcp_report(test_info(), tcp_config(), b));
  const auto merged =
      load::merge_reports(test_info(), {{pa, load::read_report(pa)}, {pb, load::read_report(pb)}});
  const auto& r = merged.report["results"];
  const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  CHECK(r["p50_us"] == us(all.value_at_quantile(0.5)));
  CHECK(r["p90_us"] == us(all.value_at_quantile(0.9)));
  CHECK(r["p99_us"] == us(all.value_at_quantile(0.99)));
  CHECK(r["p999_us"] == us(all.value_at_quantile(0.999)));
  CHECK(r["max_us"] == us(all.max()));
  CHECK(r["min_us"] == us(all.min()));
  const auto rebuilt = load::histogram_from_json(r["latency_histogram"]);
  CHECK(rebuilt.nonzero_buckets() == all.nonzero_buckets());
  // Not the average of the two p99s: the slow run dominates the union's tail.
  CHECK(r["p99_us"].get<double>() !=
        doctest::Approx(
            (us(a.latency.value_at_quantile(0.99)) + us(b.latency.value_at_quantile(0.99))) / 2));
}

TEST_CASE("report: merge refuses another schema or version, tcp with udp, other message sizes") {
  TempDir dir("report-test");
  const auto run = load::tcp_report(test_info(), tcp_config(64), tcp_result(8, 10, false));
  auto other_schema = run;
  other_schema["schema"] = "iperf3";
  auto other_version = run;
  other_version["schema_version"] = 2;
  CHECK_THROWS_WITH_AS(load::read_report(write_file(dir, "s.json", other_schema)),
                       doctest::Contains("is not a loadgen report"), load::ReportError);
  CHECK_THROWS_WITH_AS(load::read_report(write_file(dir, "v.json", other_version)),
                       doctest::Contains("has schema_version 2, not 1"), load::ReportError);
  std::ofstream(dir.file("text.json")) << "summary: msgs=1";
  CHECK_THROWS_WITH_AS(load::read_report(dir.file("text.json")), doctest::Contains("is not JSON"),
                       load::ReportError);
  CHECK_THROWS_AS(load::read_report(dir.file("missing.json")), load::ReportError);

  const auto big = load::tcp_report(test_info(), tcp_config(1024), tcp_result(9, 10, false));
  CHECK_THROWS_WITH_AS(load::merge_reports(test_info(), {{"a.json", run}, {"b.json", big}}),
                       doctest::Contains("1024-byte messages"), load::ReportError);
  load::UdpFloodConfig udp_config;
  udp_config.target = {"127.0.0.1", 9};
  const auto udp = load::udp_report(test_info(), udp_config, load::UdpFloodResult{});
  CHECK_THROWS_WITH_AS(load::merge_reports(test_info(), {{"a.json", run}, {"u.json", udp}}),
                       doctest::Contains("cannot be merged"), load::ReportError);
  auto broken = run;
  broken["results"]["latency_histogram"]["buckets"][0][1] = 3;  // not that bucket's low edge
  CHECK_THROWS_AS(load::merge_reports(test_info(), {{"a.json", run}, {"b.json", broken}}),
                  load::ReportError);
}
