// Delivery receipts between real udp-chat processes on 127.0.0.1, and what plain peers (a bare
// UDP socket, as a Python script or nc would use) receive. Ports come from the kernel; discovery
// is off (the harness's default), so receipts are asked for with --receipts always or earned by
// sending a frame. Every wait is bounded; nothing asserts how long anything took.
#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>

#include <array>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "chat/protocol.h"
#include "net/endpoint.h"
#include "net/udp_socket.h"
#include "tests/chat/chat_harness.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// Reads stdout lines until `count` lines containing `needle` were seen (bounded).
std::vector<std::string> collect(Chat& chat, const std::string& needle, std::size_t count) {
  std::vector<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    const auto line = chat.process->read_stdout_line(1s);
    if (line && line->find(needle) != std::string::npos) got.push_back(*line);
  }
  return got;
}

// The next datagram on `socket` within `limit`, or nullopt.
std::optional<std::string> receive(net::UdpSocket& socket, std::chrono::milliseconds limit,
                                   asio::ip::udp::endpoint* from = nullptr) {
  pollfd ready{socket.native_handle(), POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
  std::vector<std::byte> storage(65536);
  std::array<std::span<std::byte>, 1> buffers{std::span(storage)};
  std::array<net::Datagram, 1> datagrams;
  const auto result = socket.receive(buffers, datagrams);
  if (result.count == 0) return std::nullopt;
  if (from != nullptr) *from = datagrams[0].sender;
  return std::string(reinterpret_cast<const char*>(storage.data()), datagrams[0].size);
}

void send(net::UdpSocket& socket, const std::string& datagram, std::uint16_t port) {
  const asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.1"), port);
  REQUIRE_FALSE(socket.send_to(std::as_bytes(std::span(datagram.data(), datagram.size())), to));
}

std::string endpoint_of(const net::UdpSocket& socket) {
  return fmt::format("127.0.0.1:{}", socket.local_endpoint().port());
}

// Plain text as a plain peer sees it: the typed line, perhaps followed by an end of line.
bool is_typed_text(const std::string& datagram, const std::string& typed) {
  return datagram == typed || datagram == typed + "\n" || datagram == typed + "\r\n";
}

std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
  return count_lines_starting(lines, prefix);
}

}  // namespace

TEST_CASE("with receipts every message is delivered once and said with its round trip") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1", "--receipts", "always"});
  auto b = start_chat(dir, "b", {"--bind", "127.0.0.1", "--receipts", "always"});
  a.type("/peer " + b.endpoint());
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  constexpr int kMessages = 20;
  for (int i = 0; i < kMessages; ++i) a.type(fmt::format("hello {} <b>", i));
  const auto outcomes = collect(a, "delivered #", kMessages);
  const auto shown = collect(b, ">>>", kMessages);
  REQUIRE(outcomes.size() == kMessages);
  REQUIRE(shown.size() == kMessages);
  const std::regex delivered(fmt::format(
      R"(delivered #(\d+) to \(127\.0\.0\.1, {}\) in \d+\.\d ms: hello (\d+) <b>)", b.port));
  for (int i = 0; i < kMessages; ++i) {
    const auto& line = outcomes[static_cast<std::size_t>(i)];
    CAPTURE(line);
    std::smatch match;
    REQUIRE(std::regex_match(line, match, delivered));
    CHECK(shown[static_cast<std::size_t>(i)] ==
          fmt::format(">>>(127.0.0.1, {}):hello {} <b>", a.port, i));
  }
  a.type("/quit");
  b.type("/quit");
  a.finish();
  b.finish();
  CHECK(a.exit_code == 0);
  CHECK(b.exit_code == 0);
  CHECK(a.summary.count("sent") == kMessages);
  CHECK(a.summary.count("delivered") == kMessages);
  CHECK(a.summary.count("undelivered") == 0);
  CHECK(b.summary.count("received") == kMessages);
  CHECK(b.summary.count("duplicates") == 0);
  // One line per message in each log; a's outcomes are their own kind of line, after it.
  const auto log_a = read_lines(a.log);
  const auto log_b = read_lines(b.log);
  CHECK(count_prefix(log_a, "<<<(") == kMessages);
  CHECK(count_prefix(log_a, fmt::format("===(127.0.0.1, {}):delivered #", b.port)) == kMessages);
  CHECK(count_prefix(log_b, ">>>(") == kMessages);
  for (const auto& line : log_a) {
    const auto text = without_timestamp(line);
    if (text.starts_with("===")) {
      CHECK(text.find("<<<") == std::string::npos);
      CHECK(text.find(">>>") == std::string::npos);
    }
  }
  const auto first_sent =
      find_log_line(log_a, fmt::format("<<<(127.0.0.1, {}):hello 0 <b>", b.port));
  REQUIRE(first_sent);
  // No outcome is logged before the line of its message.
  for (std::size_t i = 0; i < *first_sent; ++i) {
    CHECK_FALSE(without_timestamp(log_a[i]).starts_with("===("));
  }
}

TEST_CASE("a message to a chat that quit is not delivered after 4 tries") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1", "--receipts", "always"});
  auto b = start_chat(dir, "b", {"--bind", "127.0.0.1"});
  const auto b_port = b.port;
  b.type("/quit");
  b.finish();
  REQUIRE(b.exit_code == 0);
  a.type("/peer " + b.endpoint());
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  a.type("anyone there?");
  const auto outcome = a.process->wait_for_stdout("delivered #", kWait);
  REQUIRE(outcome);
  CHECK(*outcome ==
        fmt::format("not delivered #1 to (127.0.0.1, {}) after 4 tries: anyone there?", b_port));
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("delivered") == 0);
  CHECK(a.summary.count("undelivered") == 1);
  CHECK(count_prefix(read_lines(a.log),
                     fmt::format("===(127.0.0.1, {}):not delivered #1 after 4 tries: anyone there?",
                                 b_port)) == 1);
}

TEST_CASE("a captured framed datagram replayed to a chat is shown once and counted a duplicate") {
  TempDir dir;
  net::UdpSocket relay(asio::ip::make_address("127.0.0.1"), 0);
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1", "--receipts", "always"});
  auto b = start_chat(dir, "b", {"--bind", "127.0.0.1"});
  a.type("/peer " + endpoint_of(relay));
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  a.type("only once");
  const auto captured = receive(relay, kWait);
  REQUIRE(captured);
  const auto frame = chat::parse_frame(*captured);
  REQUIRE(frame.kind == chat::Frame::Kind::message);
  CHECK(frame.text == "only once");
  // The same datagram three times from the test's socket: shown once, acked each time.
  for (int i = 0; i < 3; ++i) send(relay, *captured, b.port);
  // Retries of a's message (the test's socket never acks them) may arrive in between: only b's
  // acks count. At most 3 acks and 3 retries come; 10 reads bound the loop.
  std::size_t acks = 0;
  for (int i = 0; i < 10 && acks < 3; ++i) {
    const auto reply = receive(relay, kWait);
    if (!reply) break;
    const auto parsed = chat::parse_frame(*reply);
    if (parsed.kind != chat::Frame::Kind::ack) continue;
    CHECK(parsed.number == frame.number);
    CHECK(parsed.session == frame.session);
    ++acks;
  }
  CHECK(acks == 3);
  b.type("/quit");
  b.finish();
  CHECK(b.exit_code == 0);
  CHECK(b.summary.count("received") == 1);
  CHECK(b.summary.count("duplicates") == 2);
  const auto log_b = read_lines(b.log);
  CHECK(count_log_lines(log_b, fmt::format(">>>(127.0.0.1, {}):only once",
                                           relay.local_endpoint().port())) == 1);
  a.stop(SIGTERM);
  CHECK(a.exit_code == 0);
}

TEST_CASE("with receipts never a chat sends the typed text only, even to a peer that speaks them") {
  TempDir dir;
  net::UdpSocket peer(asio::ip::make_address("127.0.0.1"), 0);
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1", "--receipts", "never"});
  send(peer, chat::encode_message(9, 1, "I speak receipts"), a.port);
  REQUIRE(a.process->wait_for_stdout(">>>", kWait));
  const auto ack = receive(peer, kWait);  // acks are still given
  REQUIRE(ack);
  CHECK(chat::parse_frame(*ack).kind == chat::Frame::Kind::ack);
  a.type("/peer " + endpoint_of(peer));
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  a.type("plain words");
  const auto got = receive(peer, kWait);
  REQUIRE(got);
  CHECK(is_typed_text(*got, "plain words"));
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("delivered") == 0);
  CHECK(a.summary.count("undelivered") == 0);
  CHECK(a.stderr_text.find("delivered #") == std::string::npos);
}

TEST_CASE(
    "in auto mode a plain peer gets only typed text, and a peer that sent a frame gets receipts") {
  TempDir dir;
  net::UdpSocket plain(asio::ip::make_address("127.0.0.1"), 0);
  net::UdpSocket framed(asio::ip::make_address("127.0.0.1"), 0);
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  // The plain peer talks first, as a Python chat or nc would; it is still sent plain text.
  send(plain, "hi from python", a.port);
  REQUIRE(a.process->wait_for_stdout(">>>", kWait));
  a.type("/peer " + endpoint_of(plain));
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  for (int i = 0; i < 3; ++i) a.type(fmt::format("line {}", i));
  for (int i = 0; i < 3; ++i) {
    const auto got = receive(plain, kWait);
    REQUIRE(got);
    CHECK(is_typed_text(*got, fmt::format("line {}", i)));
    CHECK_FALSE(got->starts_with("\xFF"));
  }
  // A peer known to speak receipts (it sent a frame) gets numbered messages, and its ack is
  // said as delivered.
  send(framed, chat::encode_message(7, 1, "I speak receipts"), a.port);
  REQUIRE(receive(framed, kWait));  // a's ack
  a.type("/peer " + endpoint_of(framed));
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  a.type("numbered");
  const auto got = receive(framed, kWait);
  REQUIRE(got);
  const auto frame = chat::parse_frame(*got);
  REQUIRE(frame.kind == chat::Frame::Kind::message);
  CHECK(frame.text == "numbered");
  send(framed, chat::encode_ack(frame.session, frame.number), a.port);
  const auto outcome = a.process->wait_for_stdout("delivered #", kWait);
  REQUIRE(outcome);
  CHECK(outcome->starts_with(fmt::format("delivered #{} to (127.0.0.1, {}) in ", frame.number,
                                         framed.local_endpoint().port())));
  CHECK(outcome->ends_with(" ms: numbered"));
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("sent") == 4);
  CHECK(a.summary.count("delivered") == 1);
  // Nothing more reached the plain peer: no ack, no announcement, no retry.
  CHECK_FALSE(receive(plain, 200ms));
}

TEST_CASE("the harness keeps discovery off unless a test asks for it") {
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  a.type("/who");
  const auto line = a.process->wait_for_stdout("no peers seen", kWait);
  REQUIRE(line);
  CHECK(line->find("discovery is off") != std::string::npos);
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
}

TEST_CASE("a Python UDP peer that talks first receives only the typed text in auto mode") {
  const auto python3 = find_in_path("python3");
  if (python3.empty()) {
    MESSAGE("SKIPPED: python3 not found");
    return;
  }
  TempDir dir;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"});
  // The classic chat's socket: it says hello, then prints each datagram it gets as hex.
  const std::string script =
      "import socket, sys\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "s.bind(('127.0.0.1', 0))\n"
      "print(s.getsockname()[1], flush=True)\n"
      "s.sendto(b'hello from python', ('127.0.0.1', int(sys.argv[1])))\n"
      "s.settimeout(30)\n"
      "for _ in range(3):\n"
      "    data, _ = s.recvfrom(65536)\n"
      "    print(data.hex(), flush=True)\n";
  ChildProcess python({python3, "-c", script, std::to_string(a.port)});
  const auto port = python.read_stdout_line(kWait);
  REQUIRE(port);
  REQUIRE(a.process->wait_for_stdout(">>>(127.0.0.1, " + *port + "):hello from python", kWait));
  a.type("/peer 127.0.0.1:" + *port);
  REQUIRE(a.process->wait_for_stdout("sending to", kWait));
  for (int i = 0; i < 3; ++i) a.type(fmt::format("reply {}", i));
  for (int i = 0; i < 3; ++i) {
    const auto hex = python.read_stdout_line(kWait);
    REQUIRE(hex);
    std::string text;
    for (std::size_t at = 0; at + 1 < hex->size(); at += 2) {
      text += static_cast<char>(std::stoi(hex->substr(at, 2), nullptr, 16));
    }
    CHECK(is_typed_text(text, fmt::format("reply {}", i)));
  }
  CHECK(python.wait(kWait) == 0);
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("delivered") == 0);
  CHECK(a.summary.count("undelivered") == 0);
}
