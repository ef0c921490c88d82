// Real udp-chat processes on loopback, driven through stdin, watched through stdout, stderr and
// their logs. Ports come from the kernel; every wait is bounded (kWait); no timing assertions.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "net/endpoint.h"
#include "net/udp_socket.h"
#include "tests/chat/chat_harness.h"
#include "tests/support/bytes.h"
#include "tests/support/cpu_load.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_stats.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_checks.h"
#include "tests/support/text_files.h"
#include "tests/support/usage_error.h"

using namespace chat_test;
using namespace testing_support;

namespace {

asio::ip::udp::endpoint endpoint_of(const Chat& chat, const std::string& address) {
  return {net::parse_address(address), chat.port};
}

// Reads chat stdout lines until `count` lines starting with `prefix` were seen (bounded).
std::vector<std::string> collect(Chat& chat, const std::string& prefix, std::size_t count) {
  std::vector<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    const auto line = chat.process->read_stdout_line(1s);
    if (line && line->starts_with(prefix)) got.push_back(*line);
  }
  return got;
}

// Takes what a test socket has queued, without waiting.
std::vector<std::string> drain(net::UdpSocket& socket) {
  std::vector<std::string> got;
  std::vector<std::byte> storage(65536);
  std::array<std::span<std::byte>, 1> buffers{std::span(storage)};
  std::array<net::Datagram, 1> datagrams;
  for (int i = 0; i < 1000; ++i) {
    pollfd ready{socket.native_handle(), POLLIN, 0};
    if (::poll(&ready, 1, 0) != 1) break;
    const auto result = socket.receive(buffers, datagrams);
    if (result.count == 0) break;
    got.emplace_back(reinterpret_cast<const char*>(storage.data()), datagrams[0].size);
  }
  return got;
}

void chat_both_ways(const std::string& address) {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", address});
  auto b = start_chat(dir, "b", {"--bind", address});
  a.type("/peer " + b.endpoint());
  b.type("/peer " + a.endpoint());
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  REQUIRE(b.process->wait_for_stdout("sending to", kWait));
  constexpr int kLines = 300;
  std::string from_a, from_b;
  for (int i = 0; i < kLines; ++i) {
    from_a += fmt::format("a says {} 你好\n", i);
    from_b += fmt::format("b says {} \x1b[31m\n", i);
  }
  // Both at once: each process sends while it receives.
  a.process->write_stdin(from_a);
  b.process->write_stdin(from_b);
  const auto at_b = collect(b, ">>>", kLines);
  const auto at_a = collect(a, ">>>", kLines);
  REQUIRE(at_b.size() == kLines);
  REQUIRE(at_a.size() == kLines);
  const auto a_shown = fmt::format(">>>({}, {}):", address, a.port);
  const auto b_shown = fmt::format(">>>({}, {}):", address, b.port);
  for (int i = 0; i < kLines; ++i) {
    CHECK(at_b[static_cast<std::size_t>(i)] == fmt::format("{}a says {} 你好", a_shown, i));
    CHECK(at_a[static_cast<std::size_t>(i)] == fmt::format("{}b says {} \\x1b[31m", b_shown, i));
  }
  quit_and_check_both_ways(a, b, kLines);
  for (auto* chat : {&a, &b}) {
    const auto lines = read_lines(chat->log);
    std::set<std::string> unique;
    for (const auto& line : lines) {
      CHECK(has_no_control_characters(line));
      unique.insert(without_timestamp(line));
    }
    CHECK(unique.size() == 2 * kLines);  // every message once
  }
  const auto log_a = read_lines(a.log);
  CHECK(std::count(log_a.begin(), log_a.end(), std::string()) == 0);
  CHECK(count_log_lines(log_a, fmt::format("<<<({}, {}):a says 7 你好", address, b.port)) == 1);
}

// A FIFO for a chat log that the test holds open for reading, so the chat can open it, and never
// reads from. Closes its end when destroyed.
struct UnreadFifo {
  std::string path;
  int reader = -1;
  int capacity = 0;
  explicit UnreadFifo(std::string fifo_path) : path(std::move(fifo_path)) {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(reader >= 0);
    capacity = ::fcntl(reader, F_GETPIPE_SZ);
    REQUIRE(capacity > 0);
  }
  ~UnreadFifo() { ::close(reader); }
  UnreadFifo(const UnreadFifo&) = delete;
  UnreadFifo& operator=(const UnreadFifo&) = delete;
};

// Floods `chat`, whose log is a FIFO of `fifo_capacity` bytes that nobody reads, until the log
// can never drain: more lines were shown than the FIFO holds (a line reaches the screen only once
// it is in the log's queue), then the rest at once, so the log's queue fills and the receiver
// waits for room in it.
void stall_the_log(Chat& chat, int fifo_capacity) {
  net::UdpSocket flooder(net::parse_address("127.0.0.1"), 0);
  const auto to = endpoint_of(chat, "127.0.0.1");
  const std::string payload(1000, 'f');  // each line takes over 1000 bytes of the FIFO
  const auto enough = static_cast<std::size_t>(fifo_capacity) / 1000 + 20;
  constexpr int kDatagrams = 20'000;
  int sent = 0;
  std::size_t shown = 0;
  while (sent < kDatagrams && shown < enough) {
    for (int i = 0; i < 20; ++i, ++sent) (void)flooder.send_to(bytes_of(payload), to);
    for (int i = 0; i < 1000; ++i) {
      const auto line = chat.process->read_stdout_line(50ms);
      if (!line) break;
      if (line->starts_with(">>>")) ++shown;
    }
  }
  REQUIRE(shown >= enough);
  for (; sent < kDatagrams; ++sent) (void)flooder.send_to(bytes_of(payload), to);
}

// True once no SIGINT waits to be delivered to `pid` (/proc/PID/status, ShdPnd and SigPnd).
bool no_sigint_pending(pid_t pid) {
  std::FILE* status = std::fopen(fmt::format("/proc/{}/status", pid).c_str(), "r");
  if (status == nullptr) return true;
  char line[256];
  bool pending = false;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    unsigned long long mask = 0;
    if (std::sscanf(line, "ShdPnd: %llx", &mask) == 1 ||
        std::sscanf(line, "SigPnd: %llx", &mask) == 1) {
      pending = pending || (mask & (1ULL << (SIGINT - 1))) != 0;
    }
  }
  std::fclose(status);
  return !pending;
}

}  // namespace

TEST_CASE("two chats on 127.0.0.1 talk both ways at once, both logs hold every message once") {
  chat_both_ways("127.0.0.1");
}

TEST_CASE("two chats on ::1 talk both ways at once, both logs hold every message once") {
  chat_both_ways("::1");
}

TEST_CASE("the classic menu flow through stdin, with bad input re-prompted") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  auto b = start_chat(dir, "b", {"--bind", "127.0.0.1", "--menu"});
  REQUIRE(b.process->wait_for_stdout("choose 1 or 2", kWait));
  b.type("x");
  REQUIRE(b.process->wait_for_stdout("please type 1", kWait));
  b.type("1");
  REQUIRE(b.process->wait_for_stdout("peer IP address", kWait));
  b.type("");
  REQUIRE(b.process->wait_for_stdout("the IP address is empty", kWait));
  b.type("256.1.1.1");
  REQUIRE(b.process->wait_for_stdout("bad address '256.1.1.1'", kWait));
  b.type("127.0.0.1");
  REQUIRE(b.process->wait_for_stdout("peer port", kWait));
  for (const std::string bad : {"abc", "0", "65536"}) {
    b.type(bad);
    REQUIRE(b.process->wait_for_stdout("bad port '" + bad + "'", kWait));
  }
  b.type(std::to_string(a.port));
  REQUIRE(b.process->wait_for_stdout("sending to 127.0.0.1:" + std::to_string(a.port), kWait));
  b.type("hello from the menu");
  b.type("第二行");
  b.type("");
  REQUIRE(b.process->wait_for_stdout("choose 1 or 2", kWait));
  b.type("2");
  b.finish();
  CHECK(b.exit_code == 0);
  CHECK(b.summary.count("sent") == 2);
  const auto shown = collect(a, ">>>", 2);
  REQUIRE(shown.size() == 2);
  CHECK(shown[0] == fmt::format(">>>(127.0.0.1, {}):hello from the menu", b.port));
  CHECK(shown[1] == fmt::format(">>>(127.0.0.1, {}):第二行", b.port));
  a.stop(SIGINT);
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("received") == 2);
}

TEST_CASE("a 65,507-byte message arrives whole, a longer one is reported and the chat goes on") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  auto b = start_chat(dir, "b", {"--bind", "127.0.0.1", "--peer", a.endpoint()});
  std::string big;
  for (std::size_t i = 0; i < 65507; ++i) big += static_cast<char>('a' + i % 26);
  b.type(big + "X");  // 65,508 bytes: too long for UDP over IPv4
  b.type(big);
  const auto shown = collect(a, ">>>", 1);
  REQUIRE(shown.size() == 1);
  CHECK(shown[0] == fmt::format(">>>(127.0.0.1, {}):{}", b.port, big));
  b.type("/quit");
  b.finish();
  CHECK(b.exit_code == 0);
  CHECK(b.summary.count("sent") == 1);
  CHECK(b.summary.count("send_errors") == 1);
  CHECK(b.stderr_text.find("Message too long") != std::string::npos);
  a.stop(SIGTERM);
  const auto lines = read_lines(a.log);
  REQUIRE(lines.size() == 1);
  CHECK(without_timestamp(lines[0]) == fmt::format(">>>(127.0.0.1, {}):{}", b.port, big));
}

TEST_CASE("a flood of numbered datagrams: every one the socket delivered is in the log, in order") {
  TempDir dir;
  auto chat = start_chat(dir, "flood", {"--bind", "127.0.0.1"});
  net::UdpSocket flooder(net::parse_address("127.0.0.1"), 0);
  const auto to = endpoint_of(chat, "127.0.0.1");
  constexpr int kCount = 100'000;
  for (int i = 0; i < kCount; ++i) {
    REQUIRE_FALSE(flooder.send_to(bytes_of(fmt::format("n{:08}", i)), to));
  }
  // A marker after the flood, repeated until it is logged: then every earlier datagram the
  // socket kept has been taken, and the drop count covers the rest.
  bool marked = false;
  for (int i = 0; i < 300 && !marked; ++i) {
    REQUIRE_FALSE(flooder.send_to(bytes_of("end"), to));
    marked = wait_for_file_line(chat.log, ":end", 100ms);
  }
  REQUIRE(marked);
  chat.stop(SIGTERM);
  REQUIRE(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  REQUIRE(chat.summary.found());
  const auto lines = read_lines(chat.log);
  CHECK(lines.size() == chat.summary.count("logged"));
  CHECK(chat.summary.count("logged") == chat.summary.count("received"));
  long last = -1;
  std::size_t numbered = 0;
  for (const auto& line : lines) {
    const auto text = without_timestamp(line);
    const auto colon = text.find("):");
    REQUIRE(colon != std::string::npos);
    const auto payload = text.substr(colon + 2);
    if (payload == "end") continue;
    REQUIRE(payload.size() == 9);
    const long number = std::stol(payload.substr(1));
    CHECK(number > last);  // in order, each once
    last = number;
    ++numbered;
  }
  MESSAGE("flood: " << numbered << " of " << kCount
                    << " logged, kernel_drops=" << chat.summary.count("kernel_drops"));
  CHECK(numbered > 0);
  // Everything sent was either delivered (and logged) or dropped by the kernel, and counted.
  CHECK(static_cast<std::int64_t>(numbered) + chat.summary.count("kernel_drops") == kCount);
}

TEST_CASE("a clean stop under load: SIGTERM while a flood goes on") {
  TempDir dir;
  auto chat = start_chat(dir, "load", {"--bind", "127.0.0.1"});
  std::atomic<bool> stop{false};
  std::jthread flood([&] {
    net::UdpSocket flooder(net::parse_address("127.0.0.1"), 0);
    const auto to = endpoint_of(chat, "127.0.0.1");
    for (int i = 0; i < 5'000'000 && !stop.load(); ++i) {
      (void)flooder.send_to(bytes_of(fmt::format("load {}", i)), to);
    }
  });
  REQUIRE(wait_for_file_line(chat.log, "load "));
  chat.stop(SIGTERM);
  stop = true;
  flood.join();
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  REQUIRE(chat.summary.found());
  CHECK(chat.summary.count("received") > 0);
  CHECK(chat.summary.count("logged") == chat.summary.count("received"));
  const auto lines = read_lines(chat.log);
  CHECK(lines.size() == chat.summary.count("logged"));
  for (const auto& line : lines) CHECK(without_timestamp(line).starts_with(">>>(127.0.0.1, "));
}

TEST_CASE("under CPU load a message is logged before the reply typed after seeing it") {
  CpuLoad load;  // both cores busy: the chat's threads are preempted anywhere
  TempDir dir;
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  const auto peer_port = peer.local_endpoint().port();
  auto chat = start_chat(dir, "causal",
                         {"--bind", "127.0.0.1", "--peer", fmt::format("127.0.0.1:{}", peer_port)});
  const auto to = endpoint_of(chat, "127.0.0.1");
  constexpr int kRounds = 100;
  for (int i = 0; i < kRounds; ++i) {
    REQUIRE_FALSE(peer.send_to(bytes_of(fmt::format("question {}", i)), to));
    // A person answers what they see: the reply is typed once the question is on the screen.
    REQUIRE(chat.process->wait_for_stdout(fmt::format(":question {}", i), kWait));
    chat.type(fmt::format("answer {}", i));
  }
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  CHECK(chat.summary.count("received") == kRounds);
  CHECK(chat.summary.count("sent") == kRounds);
  const auto lines = read_lines(chat.log);
  REQUIRE(lines.size() == 2 * kRounds);
  int out_of_order = 0;
  for (int i = 0; i < kRounds; ++i) {
    const auto question =
        find_log_line(lines, fmt::format(">>>(127.0.0.1, {}):question {}", peer_port, i));
    const auto answer =
        find_log_line(lines, fmt::format("<<<(127.0.0.1, {}):answer {}", peer_port, i));
    REQUIRE(question);
    REQUIRE(answer);
    if (*question > *answer) ++out_of_order;
  }
  CHECK(out_of_order == 0);
  int backwards = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto earlier = log_time(lines[i - 1]);
    const auto later = log_time(lines[i]);
    REQUIRE(earlier);
    REQUIRE(later);
    if (*later < *earlier) ++backwards;
  }
  CHECK(backwards == 0);
}

TEST_CASE("SIGHUP stops the chat cleanly: exit 0, the summary, every received message logged") {
  TempDir dir;
  auto chat = start_chat(dir, "hangup", {"--bind", "127.0.0.1"});
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  constexpr int kMessages = 50;
  for (int i = 0; i < kMessages; ++i) {
    REQUIRE_FALSE(peer.send_to(bytes_of(fmt::format("before the hangup {}", i)),
                               endpoint_of(chat, "127.0.0.1")));
  }
  REQUIRE(collect(chat, ">>>", kMessages).size() == kMessages);
  chat.stop(SIGHUP);  // the terminal window was closed
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  REQUIRE(chat.summary.found());
  CHECK(chat.summary.count("received") == kMessages);
  CHECK(chat.summary.count("logged") == kMessages);
  CHECK(chat.summary.count("log_errors") == 0);
  const auto lines = read_lines(chat.log);
  REQUIRE(lines.size() == kMessages);
  const auto port = peer.local_endpoint().port();
  for (int i = 0; i < kMessages; ++i) {
    CHECK(without_timestamp(lines[static_cast<std::size_t>(i)]) ==
          fmt::format(">>>(127.0.0.1, {}):before the hangup {}", port, i));
  }
}

TEST_CASE("hostile datagrams are shown and logged escaped, and the chat goes on") {
  TempDir dir;
  auto chat = start_chat(dir, "hostile", {"--bind", "127.0.0.1"});
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
      {"\x1b]0;title\x07", "\\x1b]0;title\\x07"},
      {"\x1b[6n", "\\x1b[6n"},
      {"ok\rFAKE", "ok\\rFAKE"},
      {"x\n2026-11-22T10:15:30.123+08:00 <<<(10.0.0.1, 7890):forged",
       "x\\n2026-11-22T10:15:30.123+08:00 \\x3c<<(10.0.0.1, 7890):forged"},
      {"\n>>>(10.0.0.1, 1):forged", "\\n\\x3e>>(10.0.0.1, 1):forged"},
      {std::string(300, ' ') + ">>>(10.0.0.1, 7890):wrapped",
       std::string(300, ' ') + "\\x3e>>(10.0.0.1, 7890):wrapped"},
      {"rtl \u202e and hidden \u200b", "rtl \\u{202e} and hidden \\u{200b}"},
      {std::string("nul\0nul", 7), "nul\\x00nul"},
      {"\xff\xfe bad", "\\xff\\xfe bad"},
      {"cut \xe4\xbd", "cut \\xe4\\xbd"},
      {"\xc2\x9b"
       "1m",
       "\\xc2\\x9b1m"},
      {"", ""},
      {"你好", "你好"},
      {"last", "last"},
  };
  const auto to = endpoint_of(chat, "127.0.0.1");
  for (const auto& [payload, _] : cases) REQUIRE_FALSE(peer.send_to(bytes_of(payload), to));
  const auto shown = collect(chat, ">>>", cases.size());
  REQUIRE(shown.size() == cases.size());
  const auto prefix = fmt::format(">>>(127.0.0.1, {}):", peer.local_endpoint().port());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CHECK(shown[i] == prefix + cases[i].second);
    CHECK(has_no_control_characters(shown[i]));
  }
  chat.stop(SIGTERM);
  CHECK(chat.exit_code == 0);
  const auto lines = read_lines(chat.log);
  REQUIRE(lines.size() == cases.size());  // no forged extra line
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CHECK(without_timestamp(lines[i]) == prefix + cases[i].second);
    CHECK(has_no_control_characters(lines[i]));
  }
}

TEST_CASE("--encoding gbk decodes GBK peers, --encoding hex shows bytes") {
  TempDir dir;
  auto gbk = start_chat(dir, "gbk", {"--bind", "127.0.0.1", "--encoding", "gbk"});
  auto hex = start_chat(dir, "hex", {"--bind", "127.0.0.1", "--encoding", "hex"});
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  const std::string nihao = "\xc4\xe3\xba\xc3";  // 你好 in GBK
  REQUIRE_FALSE(peer.send_to(bytes_of(nihao + "\r\n"), endpoint_of(gbk, "127.0.0.1")));
  REQUIRE_FALSE(peer.send_to(bytes_of("Hi\n"), endpoint_of(hex, "127.0.0.1")));
  const auto port = peer.local_endpoint().port();
  // The CRLF ends the line on screen (the log keeps it); hex shows every byte.
  const auto shown =
      gbk.process->wait_for_stdout(fmt::format(">>>(127.0.0.1, {}):你好", port), kWait);
  REQUIRE(shown);
  CHECK(*shown == fmt::format(">>>(127.0.0.1, {}):你好", port));
  CHECK(hex.process->wait_for_stdout(fmt::format(">>>(127.0.0.1, {}):48 69 0a", port), kWait));
  // Typed lines go out as GBK.
  gbk.type(fmt::format("/peer 127.0.0.1:{}", port));
  REQUIRE(gbk.process->wait_for_stdout("sending to", kWait));
  gbk.type("你好");
  bool got = false;
  for (int i = 0; i < 300 && !got; ++i) {
    pollfd ready{peer.native_handle(), POLLIN, 0};
    ::poll(&ready, 1, 100);
    for (const auto& datagram : drain(peer)) got = got || datagram == nihao;
  }
  CHECK(got);
  gbk.stop(SIGTERM);
  hex.stop(SIGTERM);
  CHECK(gbk.exit_code == 0);
  CHECK(hex.exit_code == 0);
  const auto lines = read_lines(gbk.log);
  REQUIRE(lines.size() == 2);
  // The line was typed after the message was on the screen, so it is logged after it.
  CHECK(without_timestamp(lines[0]) == fmt::format(">>>(127.0.0.1, {}):你好\\r\\n", port));
  CHECK(without_timestamp(lines[1]) == fmt::format("<<<(127.0.0.1, {}):你好", port));
}

TEST_CASE("a peer that is not listening is reported, and the chat goes on") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  auto b = start_chat(dir, "b", {"--bind", "127.0.0.1"});
  std::uint16_t dead_port = 0;
  {
    net::UdpSocket gone(net::parse_address("127.0.0.1"), 0);
    dead_port = gone.local_endpoint().port();
  }  // closed: nothing listens there now
  a.type(fmt::format("/peer 127.0.0.1:{}", dead_port));
  a.type("anyone there?");
  std::string errors;
  eventually(
      [&] {
        errors = a.process->stderr_so_far();
        return errors.find("is not listening") != std::string::npos;
      },
      kWait);
  CHECK(errors.find(fmt::format("127.0.0.1:{} is not listening", dead_port)) != std::string::npos);
  a.type("/peer " + b.endpoint());
  a.type("still here");
  CHECK(b.process->wait_for_stdout("still here", kWait));
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  b.stop(SIGTERM);
}

TEST_CASE("forged ICMP reports cannot flood stderr, a real unreachable peer is still reported") {
  // A raw socket needs root; the forger is a python3 script of the test support.
  const auto python = find_in_path("python3");
  if (::geteuid() != 0 || python.empty()) {
    const char* why = ::geteuid() != 0 ? "not root: forging ICMP needs a raw socket"
                                       : "no python3 to forge ICMP with";
    std::fprintf(stderr, "SKIPPED: %s\n", why);
    MESSAGE("SKIPPED: " << why);
    return;
  }
  TempDir dir;
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  auto chat = start_chat(
      dir, "a",
      {"--bind", "127.0.0.1", "--peer", fmt::format("127.0.0.1:{}", peer.local_endpoint().port())});
  chat.type("hello");  // a destination this chat did send to
  std::vector<std::string> at_peer;
  REQUIRE(eventually(
      [&] {
        for (auto& text : drain(peer)) at_peer.push_back(text);
        return !at_peer.empty();
      },
      kWait));

  // 200 reports that the network refused datagrams this chat never sent, each to another place.
  const auto forged = run_program(
      {python, std::string(SUITE_SOURCE_DIR) + "/tests/support/forge_icmp_unreachable.py",
       "127.0.0.1", std::to_string(chat.port), "200"});
  REQUIRE(forged.exit_code == 0);
  REQUIRE(count_lines(forged.stdout_text) == 200);

  // Then a real one, about a destination it did send to: queued behind the forged ones, so once
  // it is shown, every forged report has been read.
  std::uint16_t dead_port = 0;
  {
    net::UdpSocket gone(net::parse_address("127.0.0.1"), 0);
    dead_port = gone.local_endpoint().port();
  }  // closed: nothing listens there now
  chat.type(fmt::format("/peer 127.0.0.1:{}", dead_port));
  chat.type("anyone there?");
  const auto real_report = fmt::format("127.0.0.1:{} is not listening", dead_port);
  eventually([&] { return chat.process->stderr_so_far().find(real_report) != std::string::npos; },
             kWait);
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  CHECK(count_occurrences(chat.stderr_text, real_report) == 1);
  CHECK(count_occurrences(chat.stderr_text, "127.77.") == 0);  // no forged destination named
  CHECK(count_lines(chat.stderr_text) <= 5);  // the real report, the summary, a handful at most
  CHECK(chat.summary.count("sent") == 2);
}

TEST_CASE("a peer of the wrong address family is refused with a clear message") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  a.type("/peer [::1]:9");
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(a.stderr_text.find("only IPv6 addresses") != std::string::npos);
  CHECK(a.stderr_text.find("IPv4 only") != std::string::npos);
}

TEST_CASE("datagrams from a third address are shown with their sender and never redirect replies") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  auto b = start_chat(dir, "b", {"--bind", "127.0.0.1"});
  net::UdpSocket third(net::parse_address("127.0.0.1"), 0);
  a.type("/peer " + b.endpoint());
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  REQUIRE_FALSE(third.send_to(bytes_of("from a stranger"), endpoint_of(a, "127.0.0.1")));
  REQUIRE(a.process->wait_for_stdout(
      fmt::format(">>>(127.0.0.1, {}):from a stranger", third.local_endpoint().port()), kWait));
  a.type("reply");
  REQUIRE(b.process->wait_for_stdout(fmt::format(">>>(127.0.0.1, {}):reply", a.port), kWait));
  CHECK(drain(third).empty());  // on loopback it would be queued by now had it been sent there
  a.stop(SIGTERM);
  b.stop(SIGTERM);
  CHECK(a.exit_code == 0);
}

TEST_CASE("a stalled stdout reader: the log keeps everything, memory stays bounded, stop works") {
  TempDir dir;
  auto chat = start_chat(dir, "slow", {"--bind", "127.0.0.1"});
  // The test never reads the chat's stdout from here on: its pipe fills and stays full.
  net::UdpSocket flooder(net::parse_address("127.0.0.1"), 0);
  const auto to = endpoint_of(chat, "127.0.0.1");
  const std::string filler(200, 'z');
  for (int i = 0; i < 200'000; ++i) {
    REQUIRE_FALSE(flooder.send_to(bytes_of(fmt::format("{:08} {}", i, filler)), to));
  }
  bool marked = false;
  for (int i = 0; i < 300 && !marked; ++i) {
    REQUIRE_FALSE(flooder.send_to(bytes_of("end"), to));
    marked = wait_for_file_line(chat.log, ":end", 100ms);
  }
  REQUIRE(marked);
  const auto rss = resident_kib(chat.process->pid());
  MESSAGE("resident memory with a stalled stdout: " << rss << " KiB");
  CHECK(rss < 512 * 1024);  // a sanity bound: 200,000 x 210 bytes unbounded would be ~100 MB+
  chat.stop(SIGTERM);
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  REQUIRE(chat.summary.found());
  CHECK(chat.summary.count("not_shown") > 0);
  CHECK(chat.summary.count("logged") == chat.summary.count("received"));
  CHECK(read_lines(chat.log).size() == chat.summary.count("logged"));
  CHECK(chat.stderr_text.find("too slow") != std::string::npos);
}

TEST_CASE("a log on a full device (/dev/full) is reported once, the chat goes on and exits 0") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1", "--log", "/dev/full"});
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  for (int i = 0; i < 3; ++i) {
    REQUIRE_FALSE(peer.send_to(bytes_of("m"), endpoint_of(a, "127.0.0.1")));
  }
  CHECK(collect(a, ">>>", 3).size() == 3);
  a.stop(SIGTERM);
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("received") == 3);
  CHECK(a.summary.count("logged") == 0);
  CHECK(a.summary.count("log_errors") == 3);
  const auto first = a.stderr_text.find("No space left on device");
  CHECK(first != std::string::npos);
  CHECK(a.stderr_text.find("No space left on device", first + 1) == std::string::npos);
}

TEST_CASE("a log on a FIFO nobody reads: the stop gives up on it, says so, and exits 1") {
  TempDir dir;
  const UnreadFifo fifo(dir.file("chat.fifo"));
  auto chat = start_chat(dir, "fifo", {"--bind", "127.0.0.1", "--log", fifo.path});
  stall_the_log(chat, fifo.capacity);
  const int reader = fifo.reader;
  chat.process->signal(SIGTERM);
  chat.exit_code = chat.process->wait(15s);
  REQUIRE(chat.exit_code);  // it ended by itself; else the ChildProcess kills it
  chat.stderr_text = chat.process->read_all_stderr(5s);
  chat.summary = Summary::parse(chat.stderr_text);
  CAPTURE(chat.stderr_text);
  CHECK(*chat.exit_code == 1);
  const std::regex not_written(
      R"(udp-chat: chat log .*: (\d+) lines not written \(the log did not drain\))");
  std::smatch match;
  REQUIRE(std::regex_search(chat.stderr_text, match, not_written));
  const auto lost = std::stoll(match[1].str());
  CHECK(lost > 0);
  REQUIRE(chat.summary.found());
  CHECK(chat.summary.count("log_errors") >= lost);
  // Nothing vanished without being counted: every received line was written or counted as lost.
  CHECK(chat.summary.count("logged") + chat.summary.count("log_errors") ==
        chat.summary.count("received"));
  std::string in_fifo;
  char chunk[65536];
  for (int i = 0; i < 1000; ++i) {
    const auto got = ::read(reader, chunk, sizeof(chunk));
    if (got <= 0) break;
    in_fifo.append(chunk, static_cast<std::size_t>(got));
  }
  CHECK(static_cast<std::int64_t>(count_lines(in_fifo)) == chat.summary.count("logged"));
}

TEST_CASE("a second Ctrl-C during a stop that waits for the log ends at once with exit 130") {
  TempDir dir;
  const UnreadFifo fifo(dir.file("chat.fifo"));
  auto chat = start_chat(dir, "twice", {"--bind", "127.0.0.1", "--log", fifo.path});
  stall_the_log(chat, fifo.capacity);
  // The first Ctrl-C starts the clean stop, which waits for the stalled log's grace period.
  chat.process->signal(SIGINT);
  // Only once it was delivered is a second one a second one (two pending SIGINTs merge).
  REQUIRE(eventually([&] { return no_sigint_pending(chat.process->pid()); }, 20s));
  chat.process->signal(SIGINT);
  chat.exit_code = chat.process->wait(15s);
  REQUIRE(chat.exit_code);
  chat.stderr_text = chat.process->read_all_stderr(5s);
  CAPTURE(chat.stderr_text);
  CHECK(*chat.exit_code == 130);
  CHECK(chat.stderr_text.find("udp-chat: stopped at once by a second signal") != std::string::npos);
}

TEST_CASE("a log on a FIFO without a reader: the chat does not wait for one, says so, goes on") {
  TempDir dir;
  const auto fifo = dir.file("chat.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto chat = start_chat(dir, "unread", {"--bind", "127.0.0.1", "--log", fifo});
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  for (int i = 0; i < 3; ++i) {
    REQUIRE_FALSE(peer.send_to(bytes_of("m"), endpoint_of(chat, "127.0.0.1")));
  }
  REQUIRE(collect(chat, ">>>", 3).size() == 3);
  chat.stop(SIGTERM);
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  CHECK(chat.summary.count("received") == 3);
  CHECK(chat.summary.count("logged") == 0);
  CHECK(chat.summary.count("log_errors") == 3);
  CHECK(count_occurrences(chat.stderr_text, "no reader") == 1);
}

TEST_CASE("end of input quits after --linger of receiving, /quit, SIGINT, SIGTERM stop cleanly") {
  TempDir dir;
  {
    auto chat = start_chat(dir, "eof", {"--bind", "127.0.0.1"});
    chat.process->close_stdin();
    chat.finish();  // --linger 0: at once, by itself
    CHECK(chat.exit_code == 0);
    CHECK(chat.summary.found());
  }
  {
    auto chat = start_chat(dir, "linger", {"--bind", "127.0.0.1", "--linger", "600"});
    chat.process->close_stdin();
    net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
    REQUIRE_FALSE(peer.send_to(bytes_of("after eof"), endpoint_of(chat, "127.0.0.1")));
    CHECK(chat.process->wait_for_stdout(":after eof", kWait));  // still receiving
    chat.stop(SIGTERM);  // and a signal still ends the linger
    CHECK(chat.exit_code == 0);
    CHECK(chat.summary.count("received") == 1);
  }
  for (int signal : {SIGINT, SIGTERM}) {
    auto chat = start_chat(dir, "signal", {"--bind", "127.0.0.1", "--no-log"});
    chat.stop(signal);
    CHECK(chat.exit_code == 0);
    CHECK(chat.summary.found());
  }
}

TEST_CASE("command line: port in use exits 1, bad options exit 2, each with one line") {
  TempDir dir;
  auto first = start_chat(dir, "first", {"--bind", "127.0.0.1"});
  {
    const auto second = run_program({program_path("udp-chat"), "--bind", "127.0.0.1", "--port",
                                     std::to_string(first.port), "--no-log"},
                                    kWait);
    CHECK(second.exit_code == 1);
    CHECK(count_lines(second.stderr_text) == 1);
    CHECK(second.stderr_text.find("in use") != std::string::npos);
  }
  const std::vector<std::vector<std::string>> bad = {{"--port", "65536"},
                                                     {"--port", "abc"},
                                                     {"--encoding", "latin1"},
                                                     {"--peer", "nocolon"},
                                                     {"--peer", "127.0.0.1:0"},
                                                     {"--bind", "256.1.1.1"},
                                                     {"--log", "x", "--no-log"},
                                                     {"--linger", "-1"},
                                                     {"--linger", "nan"},
                                                     {"--linger", "1e300"},
                                                     {"--port", "0x10"},
                                                     {"--port", "-1"},
                                                     {"--frobnicate"}};
  for (const auto& args : bad) check_usage_error("udp-chat", args);
  CHECK(run_program({program_path("udp-chat"), "--help"}, kWait).exit_code == 0);
  first.stop(SIGTERM);
}
