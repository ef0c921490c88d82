// Faults the echo server must survive: hostile and broken clients, floods, running out of
// descriptors and of threads, accept errors from a security policy, a stop under load, and leaks
// over many connections. The real binary on a kernel-chosen loopback port; counts and verdicts
// only; every wait and loop bounded.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/bytes.h"
#include "tests/support/deadline.h"
#include "tests/support/echo_server_process.h"
#include "tests/support/eventually.h"
#include "tests/support/failures.h"
#include "tests/support/pids_cgroup.h"
#include "tests/support/proc_stats.h"
#include "tests/support/process.h"
#include "tests/support/tcp_client.h"
#include "tests/support/text_checks.h"

using namespace std::chrono_literals;
using namespace testing_support;

namespace {

// The asan preset builds with UBSan too, whose vptr check probes memory through pipe(): out of
// descriptors the probe fails, and the first virtual call (Asio comparing accept's EMFILE) is
// reported as an "invalid vptr" and aborts. That is the sanitizer's own limit, not the server's
// (the same code is clean under TSan and in release builds), so those builds skip the cases that
// exhaust the server's descriptors, saying why.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ECHO_TEST_UBSAN_NEEDS_DESCRIPTORS 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define ECHO_TEST_UBSAN_NEEDS_DESCRIPTORS 1
#endif

bool skipped_out_of_descriptors() {
#ifdef ECHO_TEST_UBSAN_NEEDS_DESCRIPTORS
  MESSAGE(
      "skipped in the ASan+UBSan build: UBSan's vptr check needs a free descriptor (it "
      "probes memory with pipe()), so it aborts a process that has none");
  return true;
#else
  return false;
#endif
}

// Sends until the socket's buffers are full (the server stopped reading us) or the peer is
// gone; bounded by `limit` bytes and `timeout`. Returns the bytes sent.
std::uint64_t send_until_stalled(Client& client, std::uint64_t limit,
                                 std::chrono::milliseconds timeout = 30s) {
  const auto block = random_bytes(256 * 1024, 77);
  const auto deadline = Clock::now() + timeout;
  std::uint64_t sent = 0;
  auto stalled_since = Clock::now();
  while (sent < limit && Clock::now() < deadline) {
    const auto wrote = client.send_some(block);
    if (!wrote) break;
    if (*wrote > 0) {
      sent += *wrote;
      stalled_since = Clock::now();
    } else if (Clock::now() - stalled_since > 300ms) {
      break;  // nothing moved for a while: both sides' buffers are full
    } else {
      std::this_thread::sleep_for(10ms);
    }
  }
  return sent;
}

}  // namespace

TEST_CASE("clients that reset mid-stream (SO_LINGER 0) cost only their own connections") {
  auto server = start_echo_server({"--quiet"});
  const auto threads = server.idle_threads();
  const auto fds = count_open_fds(server.pid());
  constexpr int kClients = 20;
  Failures failures;
  {
    std::vector<std::jthread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        try {
          auto client = Client::connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port);
          const auto payload = random_bytes(100'000, 300 + i);
          // Some traffic both ways, then a pile of unread echo and unsent data, then RST.
          auto back = client.exchange(std::span(payload).first(50'000),
                                      {.half_close_after_send = false, .read_to_end = false});
          if (back.data != Bytes(payload.begin(), payload.begin() + 50'000)) {
            failures.add("client " + std::to_string(i) + ": bad echo before the reset");
          }
          client.send_some(std::span(payload).subspan(50'000));
          client.close_with_reset();
        } catch (const std::exception& error) {
          failures.add(error.what());
        }
      });
    }
  }
  failures.report();
  CHECK(echoes("127.0.0.1", server.port));
  CHECK(eventually([&] { return count_threads(server.pid()) == threads; }));
  CHECK(eventually([&] { return count_open_fds(server.pid()) == fds; }));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == kClients + 1);
}

TEST_CASE("clients that connect and send nothing") {
  SUBCASE("without --idle-timeout each is held (its socket, its thread), others are served") {
    auto server = start_echo_server({"--quiet"});
    const auto idle = server.idle_footprint();
    const auto fds = count_open_fds(server.pid());
    std::vector<Client> silent;
    for (int i = 0; i < 30; ++i) silent.push_back(Client::connect("127.0.0.1", server.port));
    CHECK(eventually([&] { return server.holds(idle, 30); }));
    CHECK(echoes("::1", server.port));
    silent.clear();  // closing frees each
    CHECK(eventually([&] { return server.holds(idle, 0); }));
    CHECK(eventually([&] { return count_open_fds(server.pid()) == fds; }));
    const auto stopped = server.stop(SIGTERM);
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.count("served") == 31);
    CHECK(stopped.count("timed_out") == 0);
  }
  SUBCASE("with --idle-timeout 0.3 every one of them is disconnected") {
    auto server = start_echo_server({"--quiet", "--idle-timeout", "0.3"});
    const auto threads = server.idle_threads();
    std::vector<Client> silent;
    for (int i = 0; i < 30; ++i) silent.push_back(Client::connect("::1", server.port));
    for (auto& client : silent) {
      const auto end = client.read_to_end(30s);
      CHECK(end.end == End::eof);
      CHECK(end.data.empty());
    }
    CHECK(eventually([&] { return count_threads(server.pid()) == threads; }));
    const auto stopped = server.stop(SIGTERM);
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.count("timed_out") == 30);
  }
}

TEST_CASE("a client that sends one byte per second is served, not cut off, and blocks no one") {
  // The idle timeout counts progress: a byte each second is progress under a 5 s limit.
  auto server = start_echo_server({"--idle-timeout", "5"});
  auto slow = Client::connect("127.0.0.1", server.port);
  const std::string text = "abc";
  for (const char c : text) {
    const auto byte = bytes_of(std::string(1, c));
    REQUIRE(slow.send_all(byte));
    const auto back = slow.read_exact(1, 20s);
    CHECK(back.end == End::complete);
    CHECK(back.data == byte);
    CHECK(echoes("::1", server.port));  // meanwhile another client is served at once
    std::this_thread::sleep_for(1s);
  }
  slow.shutdown_send();
  CHECK(slow.read_to_end().end == End::eof);
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("timed_out") == 0);
  CHECK(stopped.count("served") == 4);
}

TEST_CASE("clients that send megabytes and never read: others are served, SIGTERM still ends it") {
  auto server = start_echo_server({"--quiet"});  // no idle timeout: only the stop can free them
  const auto idle = server.idle_footprint();
  std::vector<Client> hogs;
  std::uint64_t pushed = 0;
  for (int i = 0; i < 5; ++i) {
    hogs.push_back(Client::connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port));
    pushed += send_until_stalled(hogs.back(), 64ULL << 20);
  }
  MESSAGE("5 non-reading clients pushed " << pushed << " bytes before stalling");
  CHECK(pushed > 5 * 65536);  // they did get the server stuck writing to them
  CHECK(server.holds(idle, 5));
  CHECK(echoes("127.0.0.1", server.port));
  CHECK(echoes("::1", server.port));
  const auto stopped = server.stop(SIGTERM, 30s);
  REQUIRE(stopped.exit_code.has_value());
  CHECK(*stopped.exit_code == 0);
  CHECK(stopped.count("served") == 7);
}

TEST_CASE("half-close at random points: everything sent before it is echoed, then eof") {
  constexpr std::uint64_t kSeed = 20261122;
  MESSAGE("seed " << kSeed);
  auto server = start_echo_server({"--quiet"});
  constexpr int kWorkers = 4;
  constexpr int kPerWorker = 10;
  Failures failures;
  std::atomic<std::uint64_t> total{0};
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&, w] {
        std::mt19937_64 random(kSeed + static_cast<std::uint64_t>(w));
        for (int i = 0; i < kPerWorker; ++i) {
          const auto size = std::uniform_int_distribution<std::size_t>(0, 300'000)(random);
          const auto payload = random_bytes(size, random());
          const std::string where = "worker " + std::to_string(w) + " client " + std::to_string(i) +
                                    " (" + std::to_string(size) + " bytes)";
          try {
            auto client = Client::connect(i % 2 == 0 ? "::1" : "127.0.0.1", server.port);
            Received back;
            if (size <= 32'768 && random() % 2 == 0) {
              // All sent, shut, and only then read: the echo waits in the buffers.
              if (!client.send_all(payload)) failures.add(where + ": send failed");
              client.shutdown_send();
              back = client.read_to_end(60s);
            } else {
              // Shut while the echo is still flowing back, reading in random pieces.
              back =
                  client.exchange(payload, {.max_chunk = 1 + random() % 65536, .seed = random()});
            }
            if (back.end != End::eof) failures.add(where + ": ended by " + to_string(back.end));
            if (back.data != payload) {
              failures.add(where + ": got " + std::to_string(back.data.size()) + " bytes back");
            }
            total += size;
          } catch (const std::exception& error) {
            failures.add(where + ": " + error.what());
          }
        }
      });
    }
  }
  failures.report();
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == kWorkers * kPerWorker);
  CHECK(stopped.count("bytes") == static_cast<std::int64_t>(total.load()));
}

TEST_CASE("a connect flood beyond --max-conns: all over the cap are closed, the server goes on") {
  auto server = start_echo_server({"--quiet", "--max-conns", "10"});
  const auto idle = server.idle_footprint();
  auto held = hold_served("127.0.0.1", server.port, 10);
  constexpr int kWorkers = 4;
  constexpr int kPerWorker = 50;
  Failures failures;
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&, w] {
        std::vector<Client> flood;
        for (int i = 0; i < kPerWorker; ++i) {
          auto client = Client::try_connect(w % 2 == 0 ? "127.0.0.1" : "::1", server.port);
          if (client) flood.push_back(std::move(*client));
        }
        if (flood.size() != kPerWorker) failures.add("some flood connects failed");
        for (auto& client : flood) {
          const auto end = client.read_to_end(30s);
          if (end.end == End::timeout || !end.data.empty()) {
            failures.add(std::string("a flood connection was not closed: ") + to_string(end.end));
          }
        }
      });
    }
  }
  failures.report();
  CHECK(eventually([&] { return server.holds(idle, 10); }));
  for (auto& client : held) {
    const auto again = bytes_of("still served");
    REQUIRE(client.send_all(again));
    CHECK(client.read_exact(again.size()).data == again);
  }
  held.pop_back();
  CHECK(eventually([&] { return echoes("127.0.0.1", server.port, 5s); }, 30s));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("refused") >= kWorkers * kPerWorker);
  CHECK(stopped.count("peak_active") == 10);
}

TEST_CASE("out of descriptors: the accept loop pauses without spinning, says so once, recovers") {
  if (skipped_out_of_descriptors()) return;
  const auto prlimit = find_in_path("prlimit");
  REQUIRE_MESSAGE(!prlimit.empty(), "prlimit (util-linux) is needed");
  auto server = start_echo_server({}, {prlimit, "--nofile=64:64"});
  const auto idle = server.idle_footprint();
  MESSAGE("server idles with " << count_open_fds(server.pid()) << " descriptors of 64");
  // Beyond 64, so some wait in the listen backlog; few enough beyond it that closing some of the
  // served ones lets all the waiting in at once (a second pause would blur "says so once").
  constexpr std::size_t kClients = 64 + 10;
  std::vector<Client> clients;
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.push_back(Client::connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port));
  }
  REQUIRE(eventually(
      [&] {
        return server.process->stderr_so_far().find("pausing new connections") != std::string::npos;
      },
      30s));
  // Settled: the sessions it could open are open.
  std::size_t served = 0;
  eventually(
      [&] {
        const auto now = server.connections_beyond(idle);
        const bool same = now == served;
        served = now;
        return same && now > 0;
      },
      10s);
  MESSAGE(served << " connections served, " << kClients - served << " waiting");
  REQUIRE(served < kClients);
  REQUIRE(kClients - served + 5 <= served);
  // Out of descriptors for a second: it must sleep, not spin on the ready listener.
  const double cpu_before = cpu_seconds(server.pid());
  std::this_thread::sleep_for(1s);
  const double cpu_used = cpu_seconds(server.pid()) - cpu_before;
  MESSAGE("CPU used in 1 s out of descriptors: " << cpu_used << " s");
  CHECK(cpu_used < 0.5);
  CHECK(server.running());
  // Free more descriptors than are waiting (the accept queue is FIFO: the first are served).
  const std::size_t waiting = kClients - served;
  const std::size_t to_close = waiting + 5;
  clients.erase(clients.begin(), clients.begin() + static_cast<std::ptrdiff_t>(to_close));
  CHECK(eventually(
      [&] {
        return server.process->stderr_so_far().find("accepting new connections again") !=
               std::string::npos;
      },
      30s));
  // Every remaining client, including those that waited, is echoed.
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto hello = bytes_of("client " + std::to_string(i));
    CHECK(clients[i].send_all(hello));
    CHECK(clients[i].read_exact(hello.size(), 30s).data == hello);
  }
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(count_occurrences(stopped.stderr_text, "pausing new connections") == 1);
  CHECK(count_occurrences(stopped.stderr_text, "accepting new connections again") == 1);
  CHECK(stopped.count("served") == static_cast<std::int64_t>(kClients));
}

TEST_CASE("SIGTERM while out of descriptors: a clean stop all the same") {
  if (skipped_out_of_descriptors()) return;
  const auto prlimit = find_in_path("prlimit");
  REQUIRE(!prlimit.empty());
  auto server = start_echo_server({"--quiet"}, {prlimit, "--nofile=32:32"});
  std::vector<Client> clients;
  for (int i = 0; i < 40; ++i) clients.push_back(Client::connect("127.0.0.1", server.port));
  REQUIRE(eventually(
      [&] {
        return server.process->stderr_so_far().find("pausing new connections") != std::string::npos;
      },
      30s));
  const auto stopped = server.stop(SIGTERM, 30s);
  REQUIRE(stopped.exit_code.has_value());
  CHECK(*stopped.exit_code == 0);
  CHECK(stopped.count("served") > 0);
  for (auto& client : clients) CHECK(client.read_to_end(20s).end != End::timeout);
}

TEST_CASE("accept refused by a security policy (EPERM): pauses, says so once, then serves") {
  // deny-accept makes the server's first kDenied accept calls fail with EPERM, as a security
  // module or a seccomp policy can; the connection stays queued. Such an error is about that
  // connection, not the listener: the server must pause, retry and serve it, not end.
  const auto deny_accept = program_path("deny-accept");
  if (run_program({deny_accept, "0", find_in_path("true")}, 30s).exit_code == 125) {
    MESSAGE("skipped: this kernel offers no seccomp user notifications (deny-accept needs them)");
    return;
  }
  constexpr int kDenied = 3;
  auto server = start_echo_server({"--bind", "127.0.0.1"}, {deny_accept, std::to_string(kDenied)});
  auto client = Client::connect("127.0.0.1", server.port);
  const auto hello = bytes_of("let me in");
  REQUIRE(client.send_all(hello));
  CHECK(client.read_exact(hello.size(), 30s).data == hello);
  CHECK(eventually(
      [&] {
        return server.process->stderr_so_far().find("accepting new connections again") !=
               std::string::npos;
      },
      30s));
  CHECK(echoes("127.0.0.1", server.port));
  client.close();
  const auto stopped = server.stop(SIGTERM);
  CHECK_MESSAGE(stopped.exit_code == 0, "stderr: " << stopped.stderr_text);
  CHECK(count_occurrences(stopped.stderr_text,
                          "accept: Operation not permitted; pausing new connections") == 1);
  CHECK(count_occurrences(stopped.stderr_text, "accepting new connections again") == 1);
  CHECK(stopped.count("served") == 2);
}

TEST_CASE("thread creation failure: the connection is refused cleanly, the server lives on") {
  const auto prlimit = find_in_path("prlimit");
  REQUIRE(!prlimit.empty());
  if (::geteuid() == 0) {
    // Show, rather than assume, that RLIMIT_NPROC does not bind root.
    auto server = start_echo_server({"--quiet"}, {prlimit, "--nproc=1:1"});
    const bool ignored = echoes("127.0.0.1", server.port) && echoes("::1", server.port);
    const auto stopped = server.stop(SIGTERM);
    if (ignored && stopped.count("thread_failures") == 0) {
      MESSAGE(
          "RLIMIT_NPROC is not enforced for root (the kernel exempts it); "
          "using a cgroup pids limit instead");
    }
  }
  PidsCgroup group("echo_fault_test");  // before the server, so it outlives it
  if (group.path().empty()) {
    MESSAGE("skipped: cannot limit threads here: " << group.reason());
    return;
  }
  auto server = start_echo_server();
  REQUIRE(group.write("cgroup.procs", std::to_string(server.pid())));
  const long tasks = group.read("pids.current");
  REQUIRE(tasks > 0);
  REQUIRE(group.write("pids.max", std::to_string(tasks + 2)));  // room for two connections
  auto held = hold_served("127.0.0.1", server.port, 2);
  // The third and fourth get no thread: closed at once, no data, counted.
  for (int i = 0; i < 2; ++i) {
    auto refused = Client::connect("::1", server.port);
    const auto end = refused.read_to_end(30s);
    CHECK(end.end != End::timeout);
    CHECK(end.data.empty());
  }
  CHECK(server.running());
  for (auto& client : held) {  // the served ones never noticed
    const auto again = bytes_of("still here");
    REQUIRE(client.send_all(again));
    CHECK(client.read_exact(again.size()).data == again);
  }
  // A thread ends, so the next connection gets one (bounded retries while the pid is released).
  held.pop_back();
  int attempts = 0;
  bool served = false;
  while (!served && attempts < 100) {
    ++attempts;
    served = echoes("127.0.0.1", server.port, 5s);
    if (!served) std::this_thread::sleep_for(50ms);
  }
  CHECK(served);
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == 3);
  CHECK(stopped.count("thread_failures") == 2 + attempts - 1);
  CHECK(count_occurrences(stopped.stderr_text, "cannot start a connection thread") == 1);
  CHECK(count_occurrences(stopped.stderr_text, "connection threads start again") == 1);
  CHECK(count_occurrences(stopped.stderr_text, "(no thread available)") ==
        static_cast<std::size_t>(2 + attempts - 1));
}

TEST_CASE("SIGTERM in the middle of load: nothing echoed is lost, every thread joined, exit 0") {
  auto server = start_echo_server();  // not quiet: each close line says how many bytes it echoed
  const auto idle = server.idle_footprint();
  constexpr int kEchoing = 12;      // send and read all the time, checking every byte
  constexpr int kNeverReading = 4;  // keep sending, never read
  constexpr int kSilent = 4;        // connected, never send, never read
  std::atomic<int> warmed_up{0};
  std::atomic<std::uint64_t> echoed_to_clients{0};
  std::mutex received_mutex;
  std::map<std::string, std::uint64_t> received_by;  // echoing client's address -> bytes it got
  Failures failures;
  std::vector<Client> silent;
  for (int i = 0; i < kSilent; ++i) silent.push_back(Client::connect("::1", server.port));
  std::optional<StoppedServer> stopped;
  {
    std::vector<std::jthread> clients;
    for (int i = 0; i < kEchoing; ++i) {
      clients.emplace_back([&, i] {
        const std::string who = "echoing client " + std::to_string(i);
        try {
          auto client = Client::connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port);
          const auto stream = random_bytes(8 << 20, 500 + i);  // what it would send at most
          std::size_t sent = 0;
          Bytes back;
          bool warm = false;
          const auto deadline = Clock::now() + 90s;
          bool ended = false;
          while (!ended && Clock::now() < deadline) {
            if (sent < stream.size()) {
              const auto piece = std::min<std::size_t>(4096 + 997 * i, stream.size() - sent);
              const auto wrote = client.send_some(std::span(stream).subspan(sent, piece));
              if (wrote) sent += *wrote;
            }
            const auto got = client.read_available(back);
            if (!got) ended = true;  // the server's eof or reset: the stop
            // Every byte that came back is the byte that was sent there.
            if (back.size() > sent || !std::equal(back.begin(), back.end(), stream.begin())) {
              failures.add(who + ": echo differs from what was sent");
              return;
            }
            if (!warm && back.size() >= 64 * 1024) {
              warm = true;
              ++warmed_up;
            }
            if (!ended && got == 0U) std::this_thread::sleep_for(1ms);
          }
          if (!ended) failures.add(who + ": the server never ended the connection");
          echoed_to_clients += back.size();
          std::lock_guard lock(received_mutex);
          received_by[client.local_endpoint()] = back.size();
        } catch (const std::exception& error) {
          failures.add(who + ": " + error.what());
        }
      });
    }
    for (int i = 0; i < kNeverReading; ++i) {
      clients.emplace_back([&, i] {
        try {
          auto client = Client::connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port);
          // Keep pushing until the server goes away (bounded: 60 s, 256 MiB).
          const auto block = random_bytes(65536, 900 + i);
          const auto deadline = Clock::now() + 60s;
          std::uint64_t sent = 0;
          while (Clock::now() < deadline && sent < (256ULL << 20)) {
            const auto wrote = client.send_some(block);
            if (!wrote) return;  // reset by the stopping server
            sent += *wrote;
            if (*wrote == 0) std::this_thread::sleep_for(5ms);
          }
          failures.add("never-reading client " + std::to_string(i) + ": never cut off");
        } catch (const std::exception& error) {
          failures.add(error.what());
        }
      });
    }
    const bool warm = eventually([&] { return warmed_up.load() == kEchoing; }, 60s);
    CHECK(warm);
    CHECK(eventually([&] { return server.holds(idle, kEchoing + kNeverReading + kSilent); }));
    stopped = server.stop(SIGTERM, 30s);
  }  // joins the clients: each is bounded and ends once the server closes on it
  failures.report();
  REQUIRE(stopped->exit_code.has_value());
  CHECK(*stopped->exit_code == 0);
  CHECK(stopped->count("served") == kEchoing + kNeverReading + kSilent);
  // Each close line says how many bytes the server echoed on that connection: an echoing client
  // must have received every one of them (a reset on close must not discard echoed data).
  MESSAGE("server echoed " << stopped->count("bytes") << " bytes in all; echoing clients received "
                           << echoed_to_clients.load());
  CHECK(received_by.size() == static_cast<std::size_t>(kEchoing));
  for (const auto& entry : received_by) {
    const std::string& peer = entry.first;  // not a structured binding: CAPTURE's lambda takes it
    const std::uint64_t received = entry.second;
    CAPTURE(peer);
    const std::string needle = " " + peer + " bytes=";  // "close #N PEER bytes=N (reason)"
    const auto at = stopped->stderr_text.find(needle);
    REQUIRE(at != std::string::npos);
    const auto echoed = std::stoull(stopped->stderr_text.substr(at + needle.size(), 20));
    CHECK(echoed == received);
  }
  for (auto& client : silent) CHECK(client.read_to_end(20s).end != End::timeout);
}

TEST_CASE("1,000 connect/echo/close cycles leave no descriptors or threads behind") {
  auto server = start_echo_server({"--quiet"});
  for (int i = 0; i < 5; ++i) REQUIRE(echoes("127.0.0.1", server.port));  // warm-up
  const auto threads = server.idle_threads();
  REQUIRE(eventually([&] { return count_threads(server.pid()) == threads; }));
  const auto fds = count_open_fds(server.pid());
  constexpr int kCycles = 1000;
  int failures = 0;
  for (int i = 0; i < kCycles; ++i) {
    auto client = Client::try_connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port, 10s);
    if (!client) {
      ++failures;
      continue;
    }
    const auto message = random_bytes(64 + i % 200, static_cast<std::uint64_t>(i));
    if (!client->send_all(message, 10s) ||
        client->read_exact(message.size(), 10s).data != message) {
      ++failures;
    }
    switch (i % 4) {
      case 0:
        client->close();
        break;  // plain close
      case 1:
        client->close_with_reset();
        break;  // RST
      case 2:   // half-close, wait for the server's eof
        client->shutdown_send();
        if (client->read_to_end(10s).end != End::eof) ++failures;
        break;
      default:  // leave unread data behind, then close
        client->send_all(bytes_of("unread"), 10s);
        client->close();
    }
  }
  CHECK(failures == 0);
  CHECK(eventually([&] { return count_threads(server.pid()) == threads; }, 30s));
  CHECK(eventually([&] { return count_open_fds(server.pid()) == fds; }, 30s));
  MESSAGE("after " << kCycles << " cycles: " << count_threads(server.pid()) << " threads (was "
                   << threads << "), " << count_open_fds(server.pid()) << " descriptors (was "
                   << fds << ")");
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == kCycles + 5);
}

TEST_CASE("a stderr whose reader went away (EPIPE) does not stop the echo or the clean exit") {
  // As in `echo-server 2>&1 | head -1`: every log line then fails to write. bash waits for the
  // reader (`true`) to be gone before it execs the server, so each write really fails.
  const auto bash = find_in_path("bash");
  REQUIRE(!bash.empty());
  const std::string stderr_to_a_gone_reader = R"(exec 2> >(exec true); wait $!; exec "$0" "$@")";
  auto server = start_echo_server({}, {bash, "-c", stderr_to_a_gone_reader});
  for (int i = 0; i < 3; ++i) {
    CHECK(echoes("127.0.0.1", server.port));
    CHECK(echoes("::1", server.port));
  }
  CHECK(server.running());
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
}
