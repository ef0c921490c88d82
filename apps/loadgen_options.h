#pragma once

// loadgen's command line: the options of its two subcommands, and configuration errors from
// load/ worded as those options. Kept beside the main so that loadgen.cpp stays wiring only.
// Threading: main thread only.

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/diagnostics.h"
#include "load/config_error.h"
#include "load/tcp_load.h"
#include "load/udp_flood.h"

namespace app {

// A subcommand's options, as parsed.
template <typename Config>
struct LoadgenCommand {
  CLI::App* cli = nullptr;
  std::string target;
  std::string json_path;
  Config config;
};

// `loadgen merge FILE... [--json FILE]`, as parsed.
struct LoadgenMerge {
  CLI::App* cli = nullptr;
  std::vector<std::string> files;
  std::string json_path;
};

// The whole command line. Not movable: CLI11 holds pointers into it.
struct LoadgenCommandLine {
  LoadgenCommandLine();
  LoadgenCommandLine(const LoadgenCommandLine&) = delete;
  LoadgenCommandLine& operator=(const LoadgenCommandLine&) = delete;

  CLI::App cli;
  LoadgenCommand<load::TcpLoadConfig> tcp;
  LoadgenCommand<load::UdpFloodConfig> udp;
  LoadgenMerge merge;
};

// A configuration error from load/ in the user's terms: the option that set the wrong field.
// Says it through `diagnostics`; returns the usage exit code.
int loadgen_config_error(base::Diagnostics& diagnostics, const load::ConfigError& error);

}  // namespace app
