#include "chat/sender.h"

#include <cerrno>
#include <condition_variable>
#include <exception>
#include <system_error>

#include <fmt/format.h>

#include "base/text_escape.h"
#include "chat/command_parser.h"
#include "chat/line_format.h"

namespace chat {

namespace {

// Errors that on an unconnected socket can only be a late ICMP report about an earlier datagram
// (IP_RECVERR makes the kernel hand them to the next call on the socket): the datagram in hand
// was not sent because of it, so it is worth one more try.
bool is_stale_icmp_error(std::error_code error) {
  const int value = error.value();
  return error.category() == std::system_category() &&
         (value == ECONNREFUSED || value == EHOSTUNREACH || value == ENETUNREACH ||
          value == EHOSTDOWN || value == EPROTO);
}

// Longer than a message's whole schedule (2.75 s): /quit waits this long at most for outcomes.
constexpr auto kSettleLimit = std::chrono::milliseconds(3500);

}  // namespace

Sender::Sender(net::UdpSocket& socket, Terminal& terminal, ChatLog* log,
               PeerErrorReporter& peer_errors, base::Diagnostics& diagnostics, int input_fd,
               Options options, std::function<void()> finished, Receipts& receipts,
               Presence* presence)
    : socket_(socket),
      terminal_(terminal),
      log_(log),
      peer_errors_(peer_errors),
      diagnostics_(diagnostics),
      options_(std::move(options)),
      finished_(std::move(finished)),
      receipts_(receipts),
      presence_(presence),
      reader_(input_fd) {
  if (options_.peer) {
    peer_ = options_.peer;
    peer_prefix_ = message_prefix(Direction::sent, *peer_);
  }
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Sender::~Sender() {
  stop();
}

void Sender::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  reader_.interrupt();
  thread_.join();
}

std::optional<asio::ip::udp::endpoint> Sender::reachable(
    const asio::ip::udp::endpoint& local, const std::vector<asio::ip::udp::endpoint>& candidates) {
  const auto& bound = local.address();
  for (const auto& candidate : candidates) {
    const auto address = net::unmapped(candidate.address());
    const bool fits = bound.is_v4()            ? address.is_v4()
                      : bound.is_unspecified() ? true
                                               : address.is_v6();
    if (fits) return asio::ip::udp::endpoint(address, candidate.port());
  }
  return std::nullopt;
}

void Sender::say(std::string_view text) {
  terminal_.say(text);
}

void Sender::error(std::string_view text) {
  diagnostics_.error(text);
}

bool Sender::set_peer(const net::HostPort& where, std::stop_token& stop) {
  std::vector<asio::ip::udp::endpoint> candidates;
  try {
    // On its own thread: a stop must not wait for a name server that does not answer.
    auto resolved = resolver_.resolve(where, stop);
    if (!resolved) return false;  // stopped: the chat is ending, nothing to say
    candidates = std::move(*resolved);
  } catch (const std::exception& failure) {
    // net::Error says "resolve NAME: cause"; the host was checked for control characters.
    error(fmt::format("cannot use peer {}: {}; the peer is unchanged",
                      base::escape_text(where.host), failure.what()));
    return false;
  }
  const auto chosen = reachable(socket_.local_endpoint(), candidates);
  if (!chosen) {
    const bool v4_socket = socket_.local_endpoint().address().is_v4();
    const auto host = base::escape_text(where.host);
    error(
        fmt::format("cannot use peer {}: it has only {} addresses, and this chat is bound to "
                    "{} ({} only); the peer is unchanged",
                    host.find(':') == std::string::npos ? fmt::format("{}:{}", host, where.port)
                                                        : fmt::format("[{}]:{}", host, where.port),
                    v4_socket ? "IPv6" : "IPv4", net::format_endpoint(socket_.local_endpoint()),
                    v4_socket ? "IPv4" : "IPv6"));
    return false;
  }
  peer_ = chosen;
  peer_prefix_ = message_prefix(Direction::sent, *peer_);
  say(fmt::format("sending to {}", net::format_endpoint(*peer_)));
  return true;
}

void Sender::send_line(std::string_view text) {
  if (!peer_) {
    say("no peer yet: type /peer HOST:PORT first (line not sent)");
    return;
  }
  const auto wire = encode_text(text, options_.encoding);
  if (!wire) {
    ++send_errors_;
    error("line not sent: it has characters that GBK cannot encode (or is not UTF-8)");
    return;
  }
  std::string escaped;  // the text as the log shows it
  append_decoded(escaped, *wire, options_.encoding);
  std::optional<std::uint32_t> number;
  std::string framed;
  if (receipts_.wants_receipts(*peer_)) {
    auto [assigned, datagram] = receipts_.track(*peer_, *wire, escaped);
    number = assigned;
    framed = std::move(datagram);
  }
  const std::string& datagram = number ? framed : *wire;
  const auto bytes = std::as_bytes(std::span(datagram.data(), datagram.size()));
  peer_errors_.remember_destination(*peer_);  // first: its ICMP answer may come at once
  auto failure = socket_.send_to(bytes, *peer_);
  if (failure && is_stale_icmp_error(failure)) {
    peer_errors_.drain();  // says which earlier datagram it was about
    failure = socket_.send_to(bytes, *peer_);
  }
  if (failure) {
    if (number) receipts_.cancel(*number);  // the error line is its outcome
    ++send_errors_;
    error(fmt::format("send to {}: {}; the chat goes on", net::format_endpoint(*peer_),
                      failure.message()));
    peer_errors_.drain();
    return;
  }
  ++sent_;
  if (log_ != nullptr) {
    MessageBatch batch{std::chrono::system_clock::now(), peer_prefix_, 1};
    batch.lines += escaped;
    batch.lines += '\n';
    log_->add(std::move(batch));
  }
  // Now that the line is logged, its outcome may be said (and logged after it).
  if (number) receipts_.release(*number);
  // On loopback an ICMP answer is usually queued by now; elsewhere the receiver reports it.
  peer_errors_.drain();
}

void Sender::set_peer_by_name(const std::string& name) {
  std::optional<asio::ip::udp::endpoint> found;
  if (presence_ != nullptr) found = presence_->find(name);
  if (!found) {
    say(fmt::format("no peer named {} seen (/who lists them); the peer is unchanged",
                    base::quote_for_error(name)));
    return;
  }
  const auto chosen = reachable(socket_.local_endpoint(), {*found});
  if (!chosen) {
    say(fmt::format("peer {} at {} is not reachable from {}; the peer is unchanged", name,
                    net::format_endpoint(*found), net::format_endpoint(socket_.local_endpoint())));
    return;
  }
  peer_ = chosen;
  peer_prefix_ = message_prefix(Direction::sent, *peer_);
  say(fmt::format("sending to {} at {}", name, net::format_endpoint(*peer_)));
}

void Sender::list_peers() {
  if (presence_ == nullptr) {
    say("no peers seen (discovery is off)");
    return;
  }
  for (const auto& line : presence_->who()) say(line);
}

LineReader::Status Sender::next_line(std::string& line) {
  for (;;) {
    const auto status = reader_.next(line);
    if (status != LineReader::Status::too_long) return status;
    error("line too long; not sent");  // dropped whole, so memory stays bounded; read on
  }
}

void Sender::run_line_mode(std::stop_token& stop) {
  if (!peer_) say("no peer yet: type /peer HOST:PORT, or /help");
  std::string line;
  while (!stop.stop_requested()) {
    const auto status = next_line(line);
    if (status == LineReader::Status::interrupted) return;
    if (status == LineReader::Status::end_of_input) break;
    const auto command = parse_command(line);
    switch (command.kind) {
      case Command::Kind::send:
        send_line(command.text);
        break;
      case Command::Kind::peer:
        set_peer(command.peer, stop);
        break;
      case Command::Kind::quit:
        return;
      case Command::Kind::help:
        say(command_help());
        break;
      case Command::Kind::invalid:
        say(command.text);
        break;
      case Command::Kind::who:
        list_peers();
        break;
      case Command::Kind::peer_name:
        set_peer_by_name(command.text);
        break;
      case Command::Kind::nothing:
        break;
    }
  }
  linger(stop);
}

void Sender::run_menu(std::stop_token& stop) {
  MenuContext context;
  say(menu_prompt(context.state));
  std::string line;
  while (!stop.stop_requested()) {
    const auto status = next_line(line);
    if (status == LineReader::Status::interrupted) return;
    if (status == LineReader::Status::end_of_input) break;
    auto step = menu_step(context, line);
    if (!step.message.empty()) say(step.message);
    switch (step.action) {
      case MenuStep::Action::quit:
        return;
      case MenuStep::Action::send:
        send_line(step.text);
        break;
      case MenuStep::Action::set_peer:
        if (!set_peer(step.peer, stop)) step.next = MenuContext{MenuState::asking_ip, {}};
        break;
      case MenuStep::Action::none:
        break;
    }
    const bool moved = step.next.state != context.state;
    context = std::move(step.next);
    if (moved || !step.message.empty()) say(menu_prompt(context.state));
  }
  linger(stop);
}

void Sender::linger(std::stop_token& stop) {
  // End of input: the receiver keeps going for --linger, unless the program is stopped first.
  if (stop.stop_requested()) return;
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  wake.wait_for(lock, stop, options_.linger, [] { return false; });
}

void Sender::run(std::stop_token stop) {
  try {
    if (options_.menu) {
      run_menu(stop);
    } else {
      run_line_mode(stop);
    }
    // Every message sent gets its outcome line before the chat ends by itself.
    if (!stop.stop_requested()) receipts_.wait_settled(stop, kSettleLimit);
  } catch (const std::exception& failure) {
    // Nothing may escape a thread; the chat stops the clean way instead.
    error(fmt::format("keyboard thread stopped: {}", failure.what()));
  }
  if (!stop.stop_requested() && finished_) finished_();
}

}  // namespace chat
