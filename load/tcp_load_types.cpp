#include "load/tcp_load_types.h"

namespace load {

TcpCounters& TcpCounters::operator+=(const TcpCounters& other) {
  messages += other.messages;
  bytes += other.bytes;
  mismatches += other.mismatches;
  resets += other.resets;
  short_echoes += other.short_echoes;
  other_errors += other.other_errors;
  connect_failures += other.connect_failures;
  return *this;
}

const char* to_string(Phase phase) {
  switch (phase) {
    case Phase::connecting:
      return "connecting";
    case Phase::warmup:
      return "warmup";
    case Phase::measuring:
      return "measuring";
  }
  return "?";
}

double TcpLoadResult::messages_per_s() const {
  return measured_s > 0 ? static_cast<double>(totals.messages) / measured_s : 0.0;
}

double TcpLoadResult::megabytes_per_s() const {
  return measured_s > 0 ? static_cast<double>(totals.bytes) / measured_s / 1e6 : 0.0;
}

}  // namespace load
