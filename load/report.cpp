#include "load/report.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/text_escape.h"

namespace load {

using nlohmann::json;

namespace {

double us(std::uint64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1000.0;
}

// p50 ... max of `h` in µs under keys prefixed with `prefix` ("" or "service_").
void add_percentiles(json& out, const std::string& prefix, const LatencyHistogram& h) {
  out[prefix + "p50_us"] = us(h.value_at_quantile(0.50));
  out[prefix + "p90_us"] = us(h.value_at_quantile(0.90));
  out[prefix + "p99_us"] = us(h.value_at_quantile(0.99));
  out[prefix + "p999_us"] = us(h.value_at_quantile(0.999));
  out[prefix + "max_us"] = us(h.max());
  out[prefix + "min_us"] = us(h.min());
  out[prefix + "mean_us"] = h.mean() / 1000.0;
}

// "1 mismatch" / "4 mismatches", or nothing for 0.
void add_count(std::vector<std::string>& parts, std::uint64_t n, std::string_view one,
               std::string_view many) {
  if (n != 0) parts.push_back(fmt::format("{} {}", n, n == 1 ? one : many));
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

json envelope(const RunInfo& info, std::string_view mode) {
  return json{{"schema", kReportSchema},  {"schema_version", kReportSchemaVersion},
              {"version", info.version},  {"started_at", info.started_at},
              {"host", info.host},        {"command_line", info.command_line},
              {"mode", std::string(mode)}};
}

// The results every TCP report has, run or merge.
json tcp_results(const TcpFigures& f) {
  const auto& t = f.totals;
  json out{{"msgs", t.messages},     {"bytes", t.bytes},
           {"seconds", f.seconds},   {"msgs_per_s", f.msgs_per_s},
           {"MB_per_s", f.MB_per_s}, {"latency_from", f.service ? "schedule" : "send"}};
  add_percentiles(out, "", f.latency);
  out["latency_histogram"] = histogram_json(f.latency);
  if (f.service) {
    add_percentiles(out, "service_", *f.service);
    out["service_histogram"] = histogram_json(*f.service);
  }
  out.update(json{{"errors", t.errors()},
                  {"mismatches", t.mismatches},
                  {"connect_failures", t.connect_failures},
                  {"resets", t.resets},
                  {"short_echoes", t.short_echoes},
                  {"other_errors", t.other_errors},
                  {"connections", f.connections},
                  {"failed", !tcp_failures(t).empty()},
                  {"failures", tcp_failures(t)}});
  return out;
}

json udp_results(const UdpFigures& f) {
  return json{{"sent", f.sent},
              {"send_errors", f.send_errors},
              {"seconds", f.seconds},
              {"msgs_per_s", f.msgs_per_s},
              {"MB_per_s", f.MB_per_s},
              {"failed", !udp_failures(f).empty()},
              {"failures", udp_failures(f)}};
}

}  // namespace

std::string_view suite_version() {
  return SUITE_VERSION;
}

std::string iso8601_local(std::time_t time) {
  std::tm local{};
  localtime_r(&time, &local);
  std::array<char, 64> text{};
  const auto n = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &local);
  const long offset_min = local.tm_gmtoff / 60;
  const long magnitude = offset_min < 0 ? -offset_min : offset_min;
  return fmt::format("{}{}{:02}:{:02}", std::string_view(text.data(), n),
                     offset_min < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
}

RunInfo describe_run(int argc, const char* const* argv) {
  RunInfo info;
  info.version = std::string(suite_version());
  info.started_at = iso8601_local(std::time(nullptr));
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) == 0) info.host = name.data();
  for (int i = 0; i < argc; ++i) info.command_line.emplace_back(argv[i]);
  return info;
}

TcpFigures tcp_figures(const TcpLoadResult& r) {
  TcpFigures f;
  f.totals = r.totals;
  f.latency = r.latency;
  if (r.open_loop) f.service = r.service;
  f.seconds = r.measured_s;
  f.msgs_per_s = r.messages_per_s();
  f.MB_per_s = r.megabytes_per_s();
  f.connections = r.connections_established;
  return f;
}

UdpFigures udp_figures(const UdpFloodConfig& c, const UdpFloodResult& r) {
  return UdpFigures{r.sent, r.send_errors, r.elapsed_s, r.messages_per_s(),
                    r.messages_per_s() * static_cast<double>(c.size) / 1e6};
}

std::string tcp_summary_line(const TcpFigures& f) {
  const auto& t = f.totals;
  const auto& h = f.latency;
  auto line = fmt::format(
      "summary: msgs={} msgs_per_s={:.1f} MB_per_s={:.3f} p50_us={:.1f} p90_us={:.1f} "
      "p99_us={:.1f} p999_us={:.1f} max_us={:.1f} mean_us={:.1f} errors={} mismatches={} "
      "connect_failures={} resets={} short_echoes={} other_errors={} connections={} seconds={:.3f}",
      t.messages, f.msgs_per_s, f.MB_per_s, us(h.value_at_quantile(0.50)),
      us(h.value_at_quantile(0.90)), us(h.value_at_quantile(0.99)), us(h.value_at_quantile(0.999)),
      us(h.max()), h.mean() / 1000.0, t.errors(), t.mismatches, t.connect_failures, t.resets,
      t.short_echoes, t.other_errors, f.connections, f.seconds);
  if (f.service) {
    const auto& s = *f.service;
    line += fmt::format(
        " service_p50_us={:.1f} service_p99_us={:.1f} service_p999_us={:.1f} service_max_us={:.1f}",
        us(s.value_at_quantile(0.50)), us(s.value_at_quantile(0.99)),
        us(s.value_at_quantile(0.999)), us(s.max()));
  }
  return line;
}

std::string tcp_progress_line(const SecondSample& s, std::size_t message_size) {
  const double rate = s.interval_s > 0 ? static_cast<double>(s.counts.messages) / s.interval_s : 0;
  return fmt::format(
      "[{:4.0f}s {}] {:.0f} msgs/s {:.1f} MB/s p99 {:.1f}us conns {} up {} failed errors {} "
      "mismatches {}",
      s.elapsed_s, to_string(s.phase), rate, rate * static_cast<double>(message_size) / 1e6,
      us(s.p99_ns), s.connections_up, s.connect_failures_total, s.counts.errors(),
      s.counts.mismatches);
}

std::string tcp_failures(const TcpCounters& t) {
  std::vector<std::string> parts;
  add_count(parts, t.connect_failures, "connect failure", "connect failures");
  add_count(parts, t.resets, "reset", "resets");
  add_count(parts, t.short_echoes, "short echo", "short echoes");
  add_count(parts, t.other_errors, "other connection error", "other connection errors");
  add_count(parts, t.mismatches, "mismatch", "mismatches");
  return join(parts);
}

std::string udp_summary_line(const UdpFigures& f) {
  return fmt::format(
      "summary: sent={} send_errors={} seconds={:.3f} msgs_per_s={:.1f} MB_per_s={:.3f}", f.sent,
      f.send_errors, f.seconds, f.msgs_per_s, f.MB_per_s);
}

std::string udp_progress_line(std::uint64_t sent, std::uint64_t errors, double elapsed_s) {
  return fmt::format("[{:4.0f}s] sent {} ({:.0f}/s) send errors {}", elapsed_s, sent,
                     elapsed_s > 0 ? static_cast<double>(sent) / elapsed_s : 0.0, errors);
}

std::string udp_failures(const UdpFigures& f) {
  std::vector<std::string> parts;
  add_count(parts, f.send_errors, "send error", "send errors");
  return join(parts);
}

json tcp_report(const RunInfo& info, const TcpLoadConfig& c, const TcpLoadResult& r) {
  auto out = envelope(info, "tcp");
  out["config"] = json{{"host", c.target.host},
                       {"port", c.target.port},
                       {"connections", c.connections},
                       {"message_bytes", c.message_size},
                       {"duration_s", c.duration_s},
                       {"warmup_s", c.warmup_s},
                       {"depth", c.depth},
                       {"rate", c.rate},
                       {"connect_rate", c.connect_rate},
                       {"connect_timeout_s", c.connect_timeout_s},
                       {"threads", r.threads}};
  auto results = tcp_results(tcp_figures(r));
  results.update(json{{"connect_phase_s", r.connect_phase_s},
                      {"stopped_early", r.stopped_early || r.all_connections_lost},
                      {"stopped_by_signal", r.stopped_early},
                      {"all_connections_lost", r.all_connections_lost},
                      {"lost_reason", r.lost_reason},
                      {"first_connect_error", r.first_connect_error}});
  auto series = json::array();
  for (const auto& s : r.series) {
    series.push_back(json{{"t_s", s.elapsed_s},
                          {"interval_s", s.interval_s},
                          {"phase", to_string(s.phase)},
                          {"msgs", s.counts.messages},
                          {"bytes", s.counts.bytes},
                          {"p50_us", us(s.p50_ns)},
                          {"p99_us", us(s.p99_ns)},
                          {"max_us", us(s.max_ns)},
                          {"errors", s.counts.errors()},
                          {"mismatches", s.counts.mismatches},
                          {"connect_failures", s.counts.connect_failures},
                          {"connections_up", s.connections_up}});
  }
  results["series"] = std::move(series);
  out["results"] = std::move(results);
  return out;
}

json udp_report(const RunInfo& info, const UdpFloodConfig& c, const UdpFloodResult& r) {
  auto out = envelope(info, "udp");
  out["config"] = json{{"host", c.target.host},
                       {"port", c.target.port},
                       {"count", c.count},
                       {"rate", c.rate},
                       {"message_bytes", c.size}};
  auto results = udp_results(udp_figures(c, r));
  results["stopped_early"] = r.stopped_early;
  results["first_error"] = r.first_error;
  out["results"] = std::move(results);
  return out;
}

json histogram_json(const LatencyHistogram& h) {
  auto buckets = json::array();
  for (const auto& [index, count] : h.nonzero_buckets()) {
    buckets.push_back(json::array(
        {index, LatencyHistogram::bucket_low(index), LatencyHistogram::bucket_high(index), count}));
  }
  return json{{"unit", "ns"},
              {"sub_bucket_bits", LatencyHistogram::kSubBucketBits},
              {"max_exponent", LatencyHistogram::kMaxExponent},
              {"count", h.count()},
              {"min_ns", h.min()},
              {"max_ns", h.max()},
              {"sum_ns", static_cast<double>(h.sum())},
              {"buckets", std::move(buckets)}};
}

LatencyHistogram histogram_from_json(const json& j) {
  try {
    if (j.at("unit") != "ns" || j.at("sub_bucket_bits") != LatencyHistogram::kSubBucketBits ||
        j.at("max_exponent") != LatencyHistogram::kMaxExponent) {
      throw ReportError("a histogram of other buckets");
    }
    std::vector<std::pair<std::size_t, std::uint64_t>> buckets;
    for (const auto& bucket : j.at("buckets")) {
      const auto index = bucket.at(0).get<std::size_t>();
      if (index >= LatencyHistogram::kBucketCount ||
          bucket.at(1).get<std::uint64_t>() != LatencyHistogram::bucket_low(index)) {
        throw ReportError("a histogram of other buckets");
      }
      buckets.emplace_back(index, bucket.at(3).get<std::uint64_t>());
    }
    auto h = LatencyHistogram::from_buckets(buckets, j.at("min_ns").get<std::uint64_t>(),
                                            j.at("max_ns").get<std::uint64_t>(),
                                            j.at("sum_ns").get<long double>());
    if (h.count() != j.at("count").get<std::uint64_t>()) {
      throw ReportError("a histogram whose buckets do not add up to its count");
    }
    return h;
  } catch (const json::exception& error) {
    throw ReportError(std::string("a histogram that cannot be read: ") + error.what());
  } catch (const std::invalid_argument& error) {
    throw ReportError(std::string("a histogram that cannot be read: ") + error.what());
  }
}

json read_report(const std::string& path) {
  const auto name = base::quote_for_error(path, 256);
  std::ifstream in(path);
  if (!in) throw ReportError(fmt::format("cannot read {}", name));
  json report;
  try {
    report = json::parse(in);
  } catch (const json::exception&) {
    throw ReportError(fmt::format("{} is not JSON", name));
  }
  if (!report.is_object() || report.value("schema", json()) != kReportSchema) {
    throw ReportError(fmt::format("{} is not a loadgen report (schema {})", name, kReportSchema));
  }
  if (report.value("schema_version", json()) != kReportSchemaVersion) {
    throw ReportError(fmt::format("{} has schema_version {}, not {}", name,
                                  report.value("schema_version", json()).dump(),
                                  kReportSchemaVersion));
  }
  const auto mode = report.value("mode", json());
  if ((mode != "tcp" && mode != "udp") || !report.contains("config") ||
      !report.contains("results")) {
    throw ReportError(fmt::format("{} has no mode, config or results", name));
  }
  return report;
}

namespace {

TcpFigures tcp_figures_from_json(const json& r) {
  TcpFigures f;
  f.totals.messages = r.at("msgs").get<std::uint64_t>();
  f.totals.bytes = r.at("bytes").get<std::uint64_t>();
  f.totals.mismatches = r.at("mismatches").get<std::uint64_t>();
  f.totals.resets = r.at("resets").get<std::uint64_t>();
  f.totals.short_echoes = r.at("short_echoes").get<std::uint64_t>();
  f.totals.other_errors = r.at("other_errors").get<std::uint64_t>();
  f.totals.connect_failures = r.at("connect_failures").get<std::uint64_t>();
  f.latency = histogram_from_json(r.at("latency_histogram"));
  if (r.contains("service_histogram")) f.service = histogram_from_json(r["service_histogram"]);
  f.seconds = r.at("seconds").get<double>();
  f.msgs_per_s = r.at("msgs_per_s").get<double>();
  f.MB_per_s = r.at("MB_per_s").get<double>();
  f.connections = r.at("connections").get<std::uint64_t>();
  return f;
}

UdpFigures udp_figures_from_json(const json& r) {
  return UdpFigures{r.at("sent").get<std::uint64_t>(), r.at("send_errors").get<std::uint64_t>(),
                    r.at("seconds").get<double>(), r.at("msgs_per_s").get<double>(),
                    r.at("MB_per_s").get<double>()};
}

// Concurrent runs: counts and rates add up; the span measured is the longest one.
void add(TcpFigures& sum, const TcpFigures& f, bool first) {
  sum.totals += f.totals;
  sum.latency.merge(f.latency);
  // An open loop's service time merges with another's; beside a closed loop's it means nothing.
  if (first) {
    sum.service = f.service;
  } else if (sum.service && f.service) {
    sum.service->merge(*f.service);
  } else {
    sum.service.reset();
  }
  sum.seconds = std::max(sum.seconds, f.seconds);
  sum.msgs_per_s += f.msgs_per_s;
  sum.MB_per_s += f.MB_per_s;
  sum.connections += f.connections;
}

void add(UdpFigures& sum, const UdpFigures& f) {
  sum.sent += f.sent;
  sum.send_errors += f.send_errors;
  sum.seconds = std::max(sum.seconds, f.seconds);
  sum.msgs_per_s += f.msgs_per_s;
  sum.MB_per_s += f.MB_per_s;
}

}  // namespace

MergedReport merge_reports(const RunInfo& info,
                           const std::vector<std::pair<std::string, json>>& reports) {
  if (reports.empty()) throw ReportError("nothing to merge");
  const auto& first = reports.front().second;
  const std::string mode = first.at("mode");
  MergedReport merged;
  merged.report = envelope(info, mode);
  auto config = first.at("config");
  auto from = json::array();
  TcpFigures tcp;
  UdpFigures udp;
  double rate = 0;
  std::uint64_t connections = 0;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& [path, report] = reports[i];
    const auto name = base::quote_for_error(path, 256);
    if (report.at("mode") != mode) {
      throw ReportError(fmt::format("{} is a {} run, {} a {} run: they cannot be merged", name,
                                    report.at("mode").get<std::string>(),
                                    base::quote_for_error(reports.front().first, 256), mode));
    }
    try {
      const auto& c = report.at("config");
      if (c.at("message_bytes") != config.at("message_bytes")) {
        throw ReportError(fmt::format(
            "{} sent {}-byte messages, {} {}-byte ones: they cannot be "
            "merged",
            name, c.at("message_bytes").dump(), base::quote_for_error(reports.front().first, 256),
            config.at("message_bytes").dump()));
      }
      rate += c.at("rate").get<double>();
      if (mode == "tcp") {
        connections += c.at("connections").get<std::uint64_t>();
        add(tcp, tcp_figures_from_json(report.at("results")), i == 0);
      } else {
        add(udp, udp_figures_from_json(report.at("results")));
      }
    } catch (const json::exception& error) {
      throw ReportError(fmt::format("{} cannot be read: {}", name, error.what()));
    } catch (const ReportError& error) {
      if (std::string_view(error.what()).starts_with(name)) throw;
      throw ReportError(fmt::format("{} holds {}", name, error.what()));
    }
    from.push_back(json{{"file", path},
                        {"host", report.value("host", json())},
                        {"started_at", report.value("started_at", json())},
                        {"command_line", report.value("command_line", json())}});
  }
  // The load all the runs offered together.
  config["rate"] = rate;
  if (mode == "tcp") {
    config["connections"] = connections;
    merged.report["config"] = config;
    merged.report["merged_from"] = from;
    merged.report["results"] = tcp_results(tcp);
    merged.summary_line = tcp_summary_line(tcp);
    merged.failures = tcp_failures(tcp.totals);
  } else {
    merged.report["config"] = config;
    merged.report["merged_from"] = from;
    merged.report["results"] = udp_results(udp);
    merged.summary_line = udp_summary_line(udp);
    merged.failures = udp_failures(udp);
  }
  return merged;
}

}  // namespace load
