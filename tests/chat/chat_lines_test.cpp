// udp-chat's lines as other tools see them (docs/design.md, "Line ends"): what each typed line
// ends with on the wire (--eol), how a received line end is shown and logged, host names for
// --bind and the menu, the menu's defaults, --history, and ICMP reports kept out of
// receive_errors. Real udp-chat processes; socat, nc and python3 as the other side.
#include <doctest/doctest.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "net/endpoint.h"
#include "net/udp_socket.h"
#include "tests/chat/chat_harness.h"
#include "tests/support/bytes.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// A UDP receiver in Python, as the classic Python chat receives: prints its kernel-chosen port,
// then one line per datagram, its bytes in hex. It gives up after 60 s without a datagram.
const char* const kPythonReceiver = R"(
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(60)
while True:
    data, _ = s.recvfrom(65536)
    print(data.hex(), flush=True)
)";

std::string hex_of(const std::string& bytes) {
  std::string out;
  for (const unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// The local port of a UDP socket the process `pid` holds, found through its descriptors'
// inodes in /proc/net/udp; 0 when none (yet).
std::uint16_t udp_port_of(pid_t pid) {
  std::vector<std::string> inodes;
  const auto fds = fmt::format("/proc/{}/fd", pid);
  if (DIR* dir = ::opendir(fds.c_str())) {
    for (int i = 0; i < 1000; ++i) {
      const dirent* entry = ::readdir(dir);
      if (entry == nullptr) break;
      char target[128] = {};
      const auto path = fds + "/" + entry->d_name;
      const auto n = ::readlink(path.c_str(), target, sizeof target - 1);
      const std::string link(target, n > 0 ? static_cast<std::size_t>(n) : 0);
      if (link.starts_with("socket:[")) inodes.push_back(link.substr(8, link.size() - 9));
    }
    ::closedir(dir);
  }
  std::ifstream table("/proc/net/udp");
  std::string line;
  std::getline(table, line);  // the header
  for (int i = 0; i < 100000 && std::getline(table, line); ++i) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    for (const auto& mine : inodes) {
      if (inode == mine) {
        return static_cast<std::uint16_t>(
            std::stoul(local.substr(local.find(':') + 1), nullptr, 16));
      }
    }
  }
  return 0;
}

// Starts udp-chat as a user would, with no --eol (the default), sending to `peer`.
std::unique_ptr<ChildProcess> start_default_chat(const std::string& peer) {
  auto chat = std::make_unique<ChildProcess>(std::vector<std::string>{
      program_path("udp-chat"), "--port", "0", "--no-log", "--bind", "127.0.0.1", "--peer", peer});
  const auto line = chat->read_stdout_line(kWait);
  REQUIRE(line);
  REQUIRE(line->starts_with("listening on "));
  return chat;
}

// The hex lines the Python receiver printed, until `count` arrived (bounded).
std::vector<std::string> python_received(ChildProcess& python, std::size_t count) {
  std::vector<std::string> got;
  for (int i = 0; i < 100 && got.size() < count; ++i) {
    const auto line = python.read_stdout_line(1s);
    if (line) got.push_back(*line);
  }
  return got;
}

// The Python receiver and its port.
std::unique_ptr<ChildProcess> start_python_receiver(std::uint16_t& port) {
  const auto python = find_in_path("python3");
  REQUIRE_FALSE(python.empty());
  auto receiver =
      std::make_unique<ChildProcess>(std::vector<std::string>{python, "-c", kPythonReceiver});
  const auto line = receiver->read_stdout_line(kWait);
  REQUIRE(line);
  port = static_cast<std::uint16_t>(std::stoi(*line));
  return receiver;
}

}  // namespace

TEST_CASE("with the default line end socat UDP-RECV prints two typed lines as two lines") {
  if (find_in_path("socat").empty()) {
    MESSAGE("SKIPPED: socat is not installed (scripts/setup.sh installs it)");
    return;
  }
  TempDir dir;
  const auto out = dir.file("socat.out");
  // Port 0: the kernel chooses; the test finds it through /proc.
  ChildProcess socat(
      {"/bin/sh", "-c", "exec socat -u UDP-RECV:0,bind=127.0.0.1 OPEN:'" + out + "',creat"});
  std::uint16_t port = 0;
  REQUIRE(eventually([&] { return (port = udp_port_of(socat.pid())) != 0; }, kWait));
  auto chat = start_default_chat(fmt::format("127.0.0.1:{}", port));
  chat->write_stdin("one\ntwo\n");
  CHECK(eventually([&] { return read_file(out) == "one\ntwo\n"; }, kWait));
  CHECK(read_file(out) == "one\ntwo\n");
  chat->write_stdin("/quit\n");
  CHECK(chat->wait(kWait) == 0);
  socat.signal(SIGTERM);
  socat.wait(kWait);
}

TEST_CASE("nc -u receives two typed lines as two lines and its newline is not shown as an escape") {
  if (find_in_path("nc").empty()) {
    MESSAGE("SKIPPED: nc is not installed (scripts/setup.sh installs it)");
    return;
  }
  TempDir dir;
  auto chat = start_chat(dir, "chat", {"--bind", "127.0.0.1", "--eol", "lf"});
  const auto out = dir.file("nc.out");
  ChildProcess nc({"/bin/sh", "-c", fmt::format("exec nc -u 127.0.0.1 {} > '{}'", chat.port, out)});
  nc.write_stdin("hi\n");
  // nc sends its newline: the screen ends the line there, the log keeps it.
  const auto shown = chat.process->wait_for_stdout(":hi", kWait);
  REQUIRE(shown);
  CHECK(shown->ends_with(":hi"));
  const auto nc_port =
      shown->substr(shown->find(", ") + 2, shown->find("):") - shown->find(", ") - 2);
  chat.type("/peer 127.0.0.1:" + nc_port);
  chat.type("one");
  chat.type("two");
  CHECK(eventually([&] { return read_file(out) == "one\ntwo\n"; }, kWait));
  CHECK(read_file(out) == "one\ntwo\n");
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
  const auto log = read_lines(chat.log);
  CHECK(count_log_lines(log, fmt::format(">>>(127.0.0.1, {}):hi\\n", nc_port)) == 1);
  // The log of a sent line is the text as typed, without the line end.
  CHECK(count_log_lines(log, fmt::format("<<<(127.0.0.1, {}):one", nc_port)) == 1);
  nc.signal(SIGTERM);
  nc.wait(kWait);
}

TEST_CASE("--eol crlf sends each typed line and CRLF, --eol none exactly the typed bytes") {
  for (const std::string eol : {"crlf", "none"}) {
    CAPTURE(eol);
    TempDir dir;
    std::uint16_t port = 0;
    auto python = start_python_receiver(port);
    auto chat = start_chat(
        dir, "chat",
        {"--bind", "127.0.0.1", "--eol", eol, "--peer", fmt::format("127.0.0.1:{}", port)});
    chat.type("one");
    chat.type("你好 two");
    const auto got = python_received(*python, 2);
    REQUIRE(got.size() == 2);
    const std::string end = eol == "crlf" ? "\r\n" : "";
    CHECK(got[0] == hex_of("one" + end));
    CHECK(got[1] == hex_of("你好 two" + end));
    chat.type("/quit");
    chat.finish();
    CHECK(chat.exit_code == 0);
    CHECK(count_log_lines(read_lines(chat.log), fmt::format("<<<(127.0.0.1, {}):one", port)) == 1);
    python->signal(SIGTERM);
    python->wait(kWait);
  }
}

TEST_CASE("a received trailing LF or CRLF ends the shown line while the log keeps it escaped") {
  for (const bool logged : {true, false}) {
    CAPTURE(logged);
    TempDir dir;
    auto chat = start_chat(dir, "chat",
                           logged ? std::vector<std::string>{"--bind", "127.0.0.1"}
                                  : std::vector<std::string>{"--bind", "127.0.0.1", "--no-log"});
    net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
    const asio::ip::udp::endpoint to(net::parse_address("127.0.0.1"), chat.port);
    const auto prefix = fmt::format(">>>(127.0.0.1, {}):", peer.local_endpoint().port());
    for (const std::string text : {"a\n", "b\r\n", "c\n\n", "d\r", "e\\n", "f"}) {
      REQUIRE_FALSE(peer.send_to(bytes_of(text), to));
    }
    std::vector<std::string> shown;
    for (int i = 0; i < 100 && shown.size() < 6; ++i) {
      const auto line = chat.process->read_stdout_line(1s);
      if (line && line->starts_with(prefix)) shown.push_back(line->substr(prefix.size()));
    }
    REQUIRE(shown.size() == 6);
    CHECK(shown[0] == "a");
    CHECK(shown[1] == "b");
    CHECK(shown[2] == "c\\n");
    CHECK(shown[3] == "d\\r");
    CHECK(shown[4] == "e\\\\n");
    CHECK(shown[5] == "f");
    chat.stop(SIGTERM);
    CHECK(chat.exit_code == 0);
    if (logged) {
      const auto log = read_lines(chat.log);
      REQUIRE(log.size() == 6);
      CHECK(without_timestamp(log[0]) == prefix + "a\\n");
      CHECK(without_timestamp(log[1]) == prefix + "b\\r\\n");
      CHECK(without_timestamp(log[2]) == prefix + "c\\n\\n");
      CHECK(without_timestamp(log[3]) == prefix + "d\\r");
      CHECK(without_timestamp(log[5]) == prefix + "f");
    }
  }
}

TEST_CASE("--bind localhost binds an address of localhost and receives there") {
  TempDir dir;
  auto chat = start_chat(dir, "chat", {"--bind", "localhost"});
  CAPTURE(chat.address);
  REQUIRE((chat.address == "127.0.0.1" || chat.address == "::1"));
  net::UdpSocket peer(net::parse_address(chat.address), 0);
  REQUIRE_FALSE(peer.send_to(bytes_of("over localhost"),
                             asio::ip::udp::endpoint(net::parse_address(chat.address), chat.port)));
  CHECK(chat.process->wait_for_stdout(":over localhost", kWait));
  chat.stop(SIGTERM);
  CHECK(chat.exit_code == 0);
}

TEST_CASE("the menu takes a host name and offers the last address and port as defaults") {
  TempDir dir;
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  const auto port = std::to_string(peer.local_endpoint().port());
  auto chat = start_chat(dir, "menu", {"--bind", "127.0.0.1", "--menu"});
  REQUIRE(chat.process->wait_for_stdout("choose 1 or 2: ", kWait));
  chat.type("1");
  REQUIRE(chat.process->wait_for_stdout("IP address: ", kWait));
  chat.type("localhost");
  REQUIRE(chat.process->wait_for_stdout("port: ", kWait));
  chat.type(port);
  REQUIRE(chat.process->wait_for_stdout("sending to 127.0.0.1:" + port, kWait));
  chat.type("first");
  chat.type("");
  REQUIRE(chat.process->wait_for_stdout("choose 1 or 2: ", kWait));
  chat.type("1");
  // The prompt's last line is the prompt itself, with the default Enter takes.
  REQUIRE(chat.process->wait_for_stdout("IP address [localhost]: ", kWait));
  chat.type("");
  REQUIRE(chat.process->wait_for_stdout("port [" + port + "]: ", kWait));
  chat.type("");
  REQUIRE(chat.process->wait_for_stdout("sending to 127.0.0.1:" + port, kWait));
  chat.type("second");
  chat.type("");
  chat.type("2");
  chat.finish();
  CHECK(chat.exit_code == 0);
  CHECK(chat.summary.count("sent") == 2);
  std::vector<std::string> got;
  std::vector<std::byte> storage(65536);
  std::array<std::span<std::byte>, 1> buffers{std::span(storage)};
  std::array<net::Datagram, 1> datagrams;
  for (int i = 0; i < 2; ++i) {
    const auto result = peer.receive(buffers, datagrams);  // both are queued by now
    REQUIRE(result.count == 1);
    got.emplace_back(reinterpret_cast<const char*>(storage.data()), datagrams[0].size);
  }
  CHECK(got == std::vector<std::string>{"first", "second"});
}

TEST_CASE("--history 3 shows the last three lines of the log, hostile bytes escaped") {
  TempDir dir;
  const auto log = dir.file("old.txt");
  {
    std::ofstream file(log, std::ios::binary);
    file << "2026-11-22T10:15:30.001+08:00 >>>(127.0.0.1, 9):first\n"
         << "2026-11-22T10:15:30.002+08:00 >>>(127.0.0.1, 9):second\n"
         << "2026-11-22T10:15:30.003+08:00 <<<(127.0.0.1, 9):third\\n kept\n"
         << "2026-11-22T10:15:30.004+08:00 >>>(127.0.0.1, 9):\x1b]0;pwned\x07 fourth\n"
         << "2026-11-22T10:15:30.005+08:00 >>>(127.0.0.1, 9):fifth\n";
  }
  auto chat = start_chat(dir, "chat", {"--bind", "127.0.0.1", "--log", log, "--history", "3"});
  std::vector<std::string> shown;
  for (int i = 0; i < 50 && shown.size() < 4; ++i) {
    const auto line = chat.process->read_stdout_line(1s);
    if (line) shown.push_back(*line);
  }
  REQUIRE(shown.size() == 4);
  CHECK(shown[0] == "2026-11-22T10:15:30.003+08:00 <<<(127.0.0.1, 9):third\\n kept");
  CHECK(shown[1] ==
        "2026-11-22T10:15:30.004+08:00 \\x3e>>(127.0.0.1, 9):\\x1b]0;pwned\\x07 fourth");
  CHECK(shown[2] == "2026-11-22T10:15:30.005+08:00 >>>(127.0.0.1, 9):fifth");
  CHECK(shown[3].starts_with("no peer yet"));  // then the chat's own first words
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
}

TEST_CASE("--history reads a 1 GiB log from its end, not the whole file") {
  TempDir dir;
  const auto log = dir.file("big.txt");
  {
    std::ofstream file(log, std::ios::binary);
    file << "2026-11-22T10:15:30.001+08:00 >>>(127.0.0.1, 9):at the start\n";
  }
  // A sparse gigabyte (a hole costs no disk), then the lines to show.
  REQUIRE(::truncate(log.c_str(), 1LL << 30) == 0);
  {
    std::ofstream file(log, std::ios::binary | std::ios::app);
    file << "\n2026-11-22T10:15:30.002+08:00 >>>(127.0.0.1, 9):next to last\n"
         << "2026-11-22T10:15:30.003+08:00 >>>(127.0.0.1, 9):last\n";
  }
  auto chat = start_chat(dir, "chat", {"--bind", "127.0.0.1", "--log", log, "--history", "2"});
  REQUIRE(chat.process->wait_for_stdout(":last", kWait));
  // What the process has read so far, all files together (/proc/PID/io's rchar).
  std::ifstream io(fmt::format("/proc/{}/io", chat.process->pid()));
  std::string key;
  std::uint64_t read_bytes = 0;
  for (int i = 0; i < 20 && io >> key; ++i) {
    if (key == "rchar:") {
      io >> read_bytes;
      break;
    }
  }
  MESSAGE("bytes read by the chat: " << read_bytes);
  CHECK(read_bytes > 0);
  CHECK(read_bytes < 16 * 1024 * 1024);
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
}

TEST_CASE("forged ICMP reports are counted as icmp_reports, not as receive errors") {
  const auto python = find_in_path("python3");
  if (::geteuid() != 0 || python.empty()) {
    MESSAGE("SKIPPED: forging ICMP needs root and python3");
    return;
  }
  TempDir dir;
  auto chat = start_chat(dir, "chat", {"--bind", "127.0.0.1"});
  const auto forged = run_program(
      {python, std::string(SUITE_SOURCE_DIR) + "/tests/support/forge_icmp_unreachable.py",
       "127.0.0.1", std::to_string(chat.port), "20"});
  REQUIRE(forged.exit_code == 0);
  // A datagram after the reports: once it is shown, the receiver has met the reports.
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  REQUIRE_FALSE(peer.send_to(bytes_of("after the reports"),
                             asio::ip::udp::endpoint(net::parse_address("127.0.0.1"), chat.port)));
  REQUIRE(chat.process->wait_for_stdout(":after the reports", kWait));
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  CHECK(chat.summary.count("receive_errors") == 0);
  CHECK(chat.summary.count("icmp_reports") >= 1);
  CHECK(chat.summary.count("received") == 1);
}
