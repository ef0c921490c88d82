#pragma once

// The real echo-server as tests run it: started on a kernel-chosen port (optionally through a
// wrapper that execs it, such as prlimit), known ready once it prints "listening on", stopped by a
// signal with its exit code, stderr and summary collected; plus the checks that it serves.
//
// Threading: an EchoServerProcess is used by one thread at a time (its ChildProcess); echoes() and
// hold_served() only talk to the server over loopback and are safe from any thread.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/summary.h"
#include "tests/support/tcp_client.h"

namespace testing_support {

// What a stopped server left: its exit code (nullopt if it did not exit in time), all of its
// stderr, and its summary line.
struct StoppedServer {
  std::optional<int> exit_code;
  std::string stderr_text;
  Summary summary;
  // A summary count, or -1 when the summary or the key is missing.
  std::int64_t count(const std::string& key) const { return summary.count(key); }
};

// What an idle server holds, to compare a busy one against: its threads and its sockets.
struct ServerFootprint {
  std::size_t threads = 0;
  std::size_t sockets = 0;
};

struct EchoServerProcess {
  std::unique_ptr<ChildProcess> process;
  // The --engine it runs: "threads" (the default), "async" or "uring".
  std::string engine = "threads";
  std::uint16_t port = 0;
  std::string listening_line;  // "listening on ADDRESS:PORT"

  pid_t pid() const { return process->pid(); }
  bool running() { return !process->wait(std::chrono::milliseconds(0)).has_value(); }
  // Sends `signal` and waits up to `limit` for the exit, reading stderr meanwhile.
  StoppedServer stop(int signal, std::chrono::milliseconds limit = std::chrono::seconds(30));
  // Threads of the idle server (main, signal waiter, reaper, and whatever a sanitizer runtime
  // adds), measured once the count stops changing rather than assumed.
  std::size_t idle_threads() const;
  // Threads and sockets of the idle server, each measured once it stops changing.
  ServerFootprint idle_footprint() const;
  // True when the server holds exactly `connections` connections more than when `idle` was
  // measured: one socket each, and one thread each under the threads engine while the
  // event-loop engines add none.
  bool holds(const ServerFootprint& idle, std::size_t connections) const;
  // Connections it holds beyond `idle`, counted by sockets (any engine).
  std::size_t connections_beyond(const ServerFootprint& idle) const;
  bool thread_per_connection() const { return engine == "threads"; }
};

// Starts `[wrapper...] echo-server --port 0 [--engine $SUITE_ENGINE] extra_args...` and waits
// (bounded) for "listening on".
// Throws std::runtime_error with the server's stderr if it does not start.
EchoServerProcess start_echo_server(const std::vector<std::string>& extra_args = {},
                                    const std::vector<std::string>& wrapper = {});
// Same, for the echo-server binary at `program` (a copy with other owners or file capabilities).
EchoServerProcess start_echo_server_at(const std::string& program,
                                       const std::vector<std::string>& extra_args = {},
                                       const std::vector<std::string>& wrapper = {});

// Sends a short message and checks the exact echo comes back: the server is serving.
bool echoes(const std::string& host, std::uint16_t port,
            std::chrono::milliseconds timeout = kClientWait);

// Opens `count` connections and checks each is served (an echo comes back); throws if not.
std::vector<Client> hold_served(const std::string& host, std::uint16_t port, int count);

}  // namespace testing_support
