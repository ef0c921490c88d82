#include "tests/echo/echo_test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace echo_test {

namespace {

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on fd until the deadline; the revents, or 0 on timeout.
short wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd waiting{fd, events, 0};
    const int ready = ::poll(&waiting, 1, remaining_ms(deadline));
    if (ready > 0) return waiting.revents;
    if (ready == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

}  // namespace

Bytes random_bytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  Bytes out(size);
  std::array<unsigned, 256> values;
  std::iota(values.begin(), values.end(), 0U);
  std::shuffle(values.begin(), values.end(), generator);
  std::size_t i = 0;
  for (; i < size && i < values.size(); ++i) out[i] = static_cast<std::byte>(values[i]);
  for (; i < size; ++i) out[i] = static_cast<std::byte>(generator() & 0xffU);
  return out;
}

Bytes bytes_of(std::string_view text) {
  Bytes out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

std::string text_of(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

const char* to_string(End end) {
  switch (end) {
    case End::complete: return "complete";
    case End::eof: return "eof";
    case End::reset: return "reset";
    case End::timeout: return "timeout";
  }
  return "?";
}

std::optional<Client> Client::try_connect(const std::string& host, std::uint16_t port,
                                          std::chrono::milliseconds timeout) {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_INET;
  if (host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) != 1) return std::nullopt;
    length = sizeof(v6);
  } else {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) != 1) return std::nullopt;
    length = sizeof(v4);
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  Client client(fd);
  const auto deadline = Clock::now() + timeout;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) return std::nullopt;
    if ((wait_for(fd, POLLOUT, deadline) & (POLLOUT | POLLERR | POLLHUP)) == 0) {
      return std::nullopt;
    }
    int error = 0;
    socklen_t error_length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_length);
    if (error != 0) return std::nullopt;
  }
  return client;
}

Client Client::connect(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout) {
  auto client = try_connect(host, port, timeout);
  if (!client) {
    throw std::runtime_error("connect " + host + " port " + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  return std::move(*client);
}

Client::Client(Client&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Client::~Client() { close(); }

std::string Client::local_endpoint() const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6.sin6_port));
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
  ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(ntohs(v4.sin_port));
}

std::optional<std::size_t> Client::send_some(std::span<const std::byte> data) {
  for (;;) {
    const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return std::nullopt;
  }
}

bool Client::send_all(std::span<const std::byte> data, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t done = 0;
  while (done < data.size()) {
    const auto sent = send_some(data.subspan(done));
    if (!sent) return false;
    done += *sent;
    if (*sent == 0 && (wait_for(fd_, POLLOUT, deadline) & (POLLOUT | POLLERR | POLLHUP)) == 0) {
      return false;
    }
  }
  return true;
}

std::optional<std::size_t> Client::read_available(Bytes& into) {
  std::array<std::byte, 65536> chunk;
  std::size_t total = 0;
  for (;;) {
    const ssize_t got = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (got > 0) {
      into.insert(into.end(), chunk.begin(), chunk.begin() + got);
      total += static_cast<std::size_t>(got);
      continue;
    }
    if (got == 0) return std::nullopt;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return total;
    return std::nullopt;
  }
}

Received Client::read_exact(std::size_t size, std::chrono::milliseconds timeout,
                            std::size_t max_chunk, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<std::size_t> chunk_size(1, std::max<std::size_t>(1, max_chunk));
  return read_until(size, Clock::now() + timeout, [&] { return chunk_size(generator); });
}

Received Client::read_to_end(std::chrono::milliseconds timeout) {
  return read_until(std::numeric_limits<std::size_t>::max(), Clock::now() + timeout,
                    [] { return std::size_t{65536}; });
}

template <typename NextChunk>
Received Client::read_until(std::size_t size, Clock::time_point deadline, NextChunk next_chunk) {
  Received received;
  std::array<std::byte, 65536> chunk;
  while (received.data.size() < size) {
    const auto want = std::min({next_chunk(), size - received.data.size(), chunk.size()});
    const ssize_t got = ::recv(fd_, chunk.data(), want, 0);
    if (got > 0) {
      received.data.insert(received.data.end(), chunk.begin(), chunk.begin() + got);
      continue;
    }
    if (got == 0) {
      received.end = End::eof;
      return received;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      received.end = End::reset;
      return received;
    }
    if (wait_for(fd_, POLLIN, deadline) == 0) {
      received.end = End::timeout;
      return received;
    }
  }
  received.end = End::complete;
  return received;
}

Received Client::exchange(std::span<const std::byte> data, const ExchangeOptions& options) {
  std::mt19937_64 generator(options.seed);
  std::uniform_int_distribution<std::size_t> chunk_size(1, std::max<std::size_t>(1, options.max_chunk));
  const auto deadline = Clock::now() + options.timeout;
  Received received;
  received.data.reserve(data.size());
  std::array<std::byte, 65536> chunk;
  std::size_t sent = 0;
  bool half_closed = false;
  for (;;) {
    if (sent == data.size() && options.half_close_after_send && !half_closed) {
      shutdown_send();
      half_closed = true;
    }
    const bool have_all = received.data.size() >= data.size();
    if (have_all && !options.read_to_end) {
      received.end = End::complete;
      return received;
    }
    // Read what is there, in random-sized pieces.
    const auto want = std::min(chunk_size(generator), chunk.size());
    const ssize_t got = ::recv(fd_, chunk.data(), want, 0);
    if (got > 0) {
      received.data.insert(received.data.end(), chunk.begin(), chunk.begin() + got);
      continue;
    }
    if (got == 0) {
      received.end = End::eof;  // the caller compares the data with what it sent
      return received;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      received.end = End::reset;
      return received;
    }
    // Send the next random-sized piece, if any is left.
    bool progressed = false;
    if (sent < data.size()) {
      const auto piece = std::min(chunk_size(generator), data.size() - sent);
      const auto wrote = send_some(data.subspan(sent, piece));
      if (!wrote) {
        received.end = End::reset;
        return received;
      }
      sent += *wrote;
      progressed = *wrote > 0;
    }
    if (progressed) continue;
    const short events = sent < data.size() ? POLLIN | POLLOUT : POLLIN;
    if (wait_for(fd_, events, deadline) == 0) {
      received.end = End::timeout;
      return received;
    }
  }
}

void Client::shutdown_send() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Client::close_with_reset() {
  if (fd_ < 0) return;
  const linger abort_on_close{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  close();
}

bool echoes(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  auto client = Client::try_connect(host, port, timeout);
  if (!client) return false;
  const auto message = bytes_of("are you there?\n");
  if (!client->send_all(message, timeout)) return false;
  const auto back = client->read_exact(message.size(), timeout);
  return back.end == End::complete && back.data == message;
}

std::size_t idle_threads(const ServerRun& server) {
  std::size_t count = 0;
  eventually([&] {
    const auto now = testing_support::count_threads(server.pid());
    const bool same = now == count;
    count = now;
    return same;
  }, 5s);
  return count;
}

std::vector<Client> hold_served(const std::string& host, std::uint16_t port, int count) {
  std::vector<Client> held;
  for (int i = 0; i < count; ++i) {
    held.push_back(Client::connect(host, port));
    const auto hello = bytes_of("held " + std::to_string(i));
    if (!held.back().send_all(hello) || held.back().read_exact(hello.size()).data != hello) {
      throw std::runtime_error("connection " + std::to_string(i) + " was not served");
    }
  }
  return held;
}

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

ServerRun start_server(const std::vector<std::string>& extra_args,
                       const std::vector<std::string>& wrapper) {
  std::vector<std::string> argv = wrapper;
  argv.push_back(testing_support::program_path("echo-server"));
  argv.push_back("--port");
  argv.push_back("0");
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  ServerRun server;
  server.process = std::make_unique<testing_support::ChildProcess>(argv);
  const auto line = server.process->wait_for_stdout("listening on ", 60s);
  if (!line) {
    throw std::runtime_error("echo-server did not start: " +
                             server.process->read_all_stderr(1s));
  }
  server.listening_line = *line;
  server.port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  return server;
}

std::optional<std::map<std::string, std::uint64_t>> parse_summary(const std::string& stderr_text) {
  const auto start = stderr_text.rfind("summary: ");
  if (start == std::string::npos) return std::nullopt;
  const auto end = stderr_text.find('\n', start);
  std::istringstream words(stderr_text.substr(start + 9, end - start - 9));
  std::map<std::string, std::uint64_t> summary;
  std::string word;
  while (words >> word) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    summary[word.substr(0, eq)] = std::stoull(word.substr(eq + 1));
  }
  return summary;
}

std::int64_t Stopped::count(const std::string& key) const {
  const auto found = summary.find(key);
  return found == summary.end() ? -1 : static_cast<std::int64_t>(found->second);
}

Stopped stop_server(ServerRun& server, int signal, std::chrono::milliseconds limit) {
  server.process->signal(signal);
  Stopped stopped;
  const auto deadline = Clock::now() + limit;
  // Drain stderr while waiting, so a chatty server never blocks on a full pipe.
  while (!stopped.exit_code && Clock::now() < deadline) {
    server.process->stderr_so_far();
    stopped.exit_code = server.process->wait(100ms);
  }
  stopped.stderr_text = server.process->read_all_stderr(5s);
  if (auto summary = parse_summary(stopped.stderr_text)) stopped.summary = *summary;
  return stopped;
}

ProgramRun run_program(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  testing_support::ChildProcess child(argv);
  child.close_stdin();
  ProgramRun run;
  const auto deadline = Clock::now() + limit;
  while (auto line = child.read_stdout_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
    run.stdout_text += *line + "\n";
  }
  run.stderr_text = child.read_all_stderr(std::chrono::milliseconds(remaining_ms(deadline)));
  run.exit_code = child.wait(std::chrono::milliseconds(remaining_ms(deadline)) + 1s);
  return run;
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::size_t count_occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

double cpu_seconds(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long user = 0, system = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) user = std::stoull(field);
    if (index == 15) {
      system = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace echo_test
