#include "load/report.h"

#include <fmt/format.h>

namespace load {

namespace {

double us(std::uint64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1000.0;
}

// Escapes a string for a JSON string literal (the host name is the only free text).
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += fmt::format("\\u{:04x}", byte);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string tcp_summary_line(const TcpLoadResult& r) {
  const auto& t = r.totals;
  const auto& h = r.latency;
  return fmt::format(
      "summary: msgs={} msgs_per_s={:.1f} MB_per_s={:.3f} p50_us={:.1f} p90_us={:.1f} "
      "p99_us={:.1f} p999_us={:.1f} max_us={:.1f} mean_us={:.1f} errors={} mismatches={} "
      "connect_failures={} resets={} short_echoes={} other_errors={} connections={} seconds={:.3f}",
      t.messages, r.messages_per_s(), r.megabytes_per_s(), us(h.value_at_quantile(0.50)),
      us(h.value_at_quantile(0.90)), us(h.value_at_quantile(0.99)), us(h.value_at_quantile(0.999)),
      us(h.max()), h.mean() / 1000.0, t.errors(), t.mismatches, t.connect_failures, t.resets,
      t.short_echoes, t.other_errors, r.connections_established, r.measured_s);
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

std::string tcp_json(const TcpLoadConfig& c, const TcpLoadResult& r) {
  const auto& t = r.totals;
  const auto& h = r.latency;
  std::string out = "{\n";
  out += fmt::format(
      "  \"mode\": \"tcp\",\n"
      "  \"config\": {{\"host\": {}, \"port\": {}, \"connections\": {}, \"message_bytes\": {}, "
      "\"duration_s\": {}, \"warmup_s\": {}, \"depth\": {}, \"rate\": {}, \"connect_rate\": {}, "
      "\"threads\": {}}},\n",
      json_string(c.target.host), c.target.port, c.connections, c.message_size, c.duration_s,
      c.warmup_s, c.depth, c.rate, c.connect_rate, r.threads);
  out += fmt::format(
      "  \"msgs\": {}, \"bytes\": {}, \"seconds\": {:.6f}, \"msgs_per_s\": {:.3f}, "
      "\"MB_per_s\": {:.6f},\n",
      t.messages, t.bytes, r.measured_s, r.messages_per_s(), r.megabytes_per_s());
  out += fmt::format(
      "  \"p50_us\": {:.3f}, \"p90_us\": {:.3f}, \"p99_us\": {:.3f}, \"p999_us\": {:.3f}, "
      "\"max_us\": {:.3f}, \"min_us\": {:.3f}, \"mean_us\": {:.3f},\n",
      us(h.value_at_quantile(0.50)), us(h.value_at_quantile(0.90)), us(h.value_at_quantile(0.99)),
      us(h.value_at_quantile(0.999)), us(h.max()), us(h.min()), h.mean() / 1000.0);
  out += fmt::format(
      "  \"errors\": {}, \"mismatches\": {}, \"connect_failures\": {}, \"resets\": {}, "
      "\"short_echoes\": {}, \"other_errors\": {},\n",
      t.errors(), t.mismatches, t.connect_failures, t.resets, t.short_echoes, t.other_errors);
  out += fmt::format(
      "  \"connections\": {}, \"connect_phase_s\": {:.6f}, \"stopped_early\": {}, "
      "\"first_connect_error\": {},\n",
      r.connections_established, r.connect_phase_s, r.stopped_early,
      json_string(r.first_connect_error));
  out += "  \"series\": [";
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const auto& s = r.series[i];
    out += fmt::format(
        "{}\n    {{\"t_s\": {:.3f}, \"interval_s\": {:.3f}, \"phase\": \"{}\", \"msgs\": {}, "
        "\"bytes\": {}, \"p50_us\": {:.3f}, \"p99_us\": {:.3f}, \"max_us\": {:.3f}, "
        "\"errors\": {}, \"mismatches\": {}, \"connect_failures\": {}, \"connections_up\": {}}}",
        i == 0 ? "" : ",", s.elapsed_s, s.interval_s, to_string(s.phase), s.counts.messages,
        s.counts.bytes, us(s.p50_ns), us(s.p99_ns), us(s.max_ns), s.counts.errors(),
        s.counts.mismatches, s.counts.connect_failures, s.connections_up);
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string udp_summary_line(const UdpFloodConfig& c, const UdpFloodResult& r) {
  return fmt::format(
      "summary: sent={} send_errors={} seconds={:.3f} msgs_per_s={:.1f} MB_per_s={:.3f}", r.sent,
      r.send_errors, r.elapsed_s, r.messages_per_s(),
      r.messages_per_s() * static_cast<double>(c.size) / 1e6);
}

std::string udp_progress_line(std::uint64_t sent, std::uint64_t errors, double elapsed_s) {
  return fmt::format("[{:4.0f}s] sent {} ({:.0f}/s) send errors {}", elapsed_s, sent,
                     elapsed_s > 0 ? static_cast<double>(sent) / elapsed_s : 0.0, errors);
}

std::string udp_json(const UdpFloodConfig& c, const UdpFloodResult& r) {
  return fmt::format(
      "{{\n  \"mode\": \"udp\",\n  \"config\": {{\"host\": {}, \"port\": {}, \"count\": {}, "
      "\"rate\": {}, \"message_bytes\": {}}},\n  \"sent\": {}, \"send_errors\": {}, "
      "\"seconds\": {:.6f}, \"msgs_per_s\": {:.3f}, \"stopped_early\": {}, "
      "\"first_error\": {}\n}}\n",
      json_string(c.target.host), c.target.port, c.count, c.rate, c.size, r.sent, r.send_errors,
      r.elapsed_s, r.messages_per_s(), r.stopped_early, json_string(r.first_error));
}

}  // namespace load
