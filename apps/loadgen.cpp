// loadgen: verified TCP echo load with latency percentiles, and numbered UDP floods.
// The contract is in docs/design.md; the logic lives in load/ (the run and its output in
// load/loadgen_runner.h) where the tests reach it.
//
//   loadgen tcp HOST:PORT [-c CONNS] [-s BYTES] [-d SECS] [--depth N] [--rate R] [--warmup SECS]
//                         [--connect-rate R] [--connect-timeout SECS] [--threads N] [--json FILE]
//   loadgen udp HOST:PORT [-n COUNT] [--rate R] [-s BYTES] [--json FILE]
//   loadgen merge FILE... [--json FILE]
//
// Output: a progress line once a second on stderr; at the end one line on stdout,
// "summary: key=value ..." (keys in load/report.h); --json FILE gets the JSON report
// (docs/json.md), --json - puts it on stdout and the summary on stderr. Exit 0 when nothing
// failed, 1 when anything did or the run could not run (one stderr line says why), 2 for bad
// options, an unwritable --json path (found before any load is sent) or reports that cannot be
// merged.

#include <unistd.h>

#include <exception>
#include <string>

#include <fmt/format.h>

#include "apps/app_support.h"
#include "apps/loadgen_options.h"
#include "base/diagnostics.h"
#include "base/process_settings.h"
#include "base/signal_waiter.h"
#include "load/loadgen_runner.h"
#include "load/report.h"
#include "load/report_output.h"
#include "net/endpoint.h"

int main(int argc, char** argv) {
  base::SignalWaiter signals("loadgen");  // first: also ignores SIGPIPE, for every thread
  app::flush_lines_always();
  base::Diagnostics diagnostics(STDERR_FILENO, std::string(load::kLoadgenProgram));
  app::LoadgenCommandLine command_line;
  auto& [cli, tcp, udp, merge] = command_line;
  if (const int code = app::parse_command_line(cli, argc, argv, diagnostics); code >= 0) {
    return code;
  }
  const auto info = load::describe_run(argc, argv);
  const auto& json_path =
      tcp.cli->parsed() ? tcp.json_path : (udp.cli->parsed() ? udp.json_path : merge.json_path);
  try {
    load::ReportOutput output(json_path);  // before any load: an unwritable path fails at once
    if (merge.cli->parsed()) return load::run_merge_command(info, merge.files, output, diagnostics);
    // The targets passed app::host_and_port() already: parsing them again cannot fail.
    if (tcp.cli->parsed()) tcp.config.target = net::parse_host_port(tcp.target);
    if (udp.cli->parsed()) udp.config.target = net::parse_host_port(udp.target);
    base::raise_open_file_limit();  // 10,000 connections need 10,000 descriptors
    if (tcp.cli->parsed()) {
      return load::run_tcp_command(info, tcp.config, output, signals, diagnostics);
    }
    return load::run_udp_command(info, udp.config, output, signals, diagnostics);
  } catch (const load::ReportPathError& error) {
    return app::usage_error(diagnostics, fmt::format("--json {}", error.what()));
  } catch (const load::ReportError& error) {
    return app::usage_error(diagnostics, error.what());
  } catch (const load::ConfigError& error) {
    return app::loadgen_config_error(diagnostics, error);
  } catch (const std::exception& error) {
    diagnostics.error(error.what());
    return app::kExitFailure;
  }
}
