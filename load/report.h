#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "load/tcp_load_types.h"
#include "load/udp_flood.h"

namespace load {

// Text the loadgen program prints and writes. Thread-safe (pure functions of their arguments).
//
// Summary (stdout, one line of space-separated key=value pairs after "summary:", numbers in
// plain decimal, times in microseconds with one decimal):
//   summary: msgs=N msgs_per_s=X MB_per_s=X p50_us=X p90_us=X p99_us=X p999_us=X max_us=X
//            mean_us=X errors=N mismatches=N connect_failures=N resets=N short_echoes=N
//            other_errors=N connections=N seconds=X
// `errors` = resets + short_echoes + other_errors (connection-level failures after connecting).
std::string tcp_summary_line(const TcpLoadResult& result);
// Progress (stderr, once a second), one line:
//   "[  3s measuring] 95123 msgs/s 6.1 MB/s p99 215.0us conns 100 up 0 failed errors 0
//    mismatches 0"
std::string tcp_progress_line(const SecondSample& sample, std::size_t message_size);
// Everything, as one JSON object: config, totals, percentiles, the per-second series.
std::string tcp_json(const TcpLoadConfig& config, const TcpLoadResult& result);

//   summary: sent=N send_errors=N seconds=X msgs_per_s=X MB_per_s=X
std::string udp_summary_line(const UdpFloodConfig& config, const UdpFloodResult& result);
// Progress (stderr, about once a second):
//   "[   3s] sent 60000 (20000/s) send errors 0"
std::string udp_progress_line(std::uint64_t sent, std::uint64_t errors, double elapsed_s);
std::string udp_json(const UdpFloodConfig& config, const UdpFloodResult& result);

}  // namespace load
