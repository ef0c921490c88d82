#include "chat/receiver.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <span>

#include "chat/line_format.h"
#include "chat/protocol.h"

namespace chat {

namespace {

constexpr std::size_t kBatch = 64;               // the most one recvmmsg takes in net::UdpSocket
constexpr std::size_t kBufferBytes = 64 * 1024;  // any UDP payload (65,507 over IPv4) fits
// A batch's text goes out in pieces of about this size, which bounds the memory queued for the
// log (64 queued pieces) even when every datagram is 64 KiB of escapes; the terminal has its own
// byte budget.
constexpr std::size_t kMaxPieceBytes = 256 * 1024;
// After this many reports of socket errors in a row, further ones are only counted.
constexpr std::uint64_t kMaxErrorReports = 10;

}  // namespace

Receiver::Receiver(net::UdpSocket& socket, Terminal& terminal, ChatLog* log,
                   PeerErrorReporter& peer_errors, base::Diagnostics& diagnostics,
                   Encoding encoding, Receipts& receipts, Presence* presence)
    : socket_(socket),
      terminal_(terminal),
      log_(log),
      peer_errors_(peer_errors),
      diagnostics_(diagnostics),
      encoding_(encoding),
      receipts_(receipts),
      presence_(presence) {
  thread_ = std::jthread([this] { run(); });
}

Receiver::~Receiver() {
  stop();
}

void Receiver::stop() {
  if (!thread_.joinable()) return;
  socket_.stop();
  thread_.join();
}

void Receiver::hand_over(std::string& lines, std::size_t count) {
  if (count == 0) return;
  // Buffers go round (receiver -> terminal/log -> spare -> receiver), so a flood allocates
  // nothing per batch once warmed up.
  if (log_ != nullptr) {
    // The log first: a message is in the log's queue before anyone can see it, so a reply typed
    // after seeing it is queued, stamped and written after it. The log waits for room and never
    // drops; the terminal may drop its copy under a flood.
    std::string copy = terminal_.spare_buffer();
    copy.assign(lines);
    log_->add(MessageBatch{{}, std::move(lines), count});  // the log stamps it
    terminal_.show(std::move(copy), count, true);
    lines = log_->spare_buffer();
  } else {
    terminal_.show(std::move(lines), count, false);
    lines = terminal_.spare_buffer();
  }
}

bool Receiver::take_frame(const asio::ip::udp::endpoint& sender, const Frame& frame) {
  switch (frame.kind) {
    case Frame::Kind::message: {
      receipts_.mark_speaks(sender);
      // Acked every time: the ack of an earlier copy may have been lost.
      const auto ack = encode_ack(frame.session, frame.number);
      static_cast<void>(socket_.send_to(std::as_bytes(std::span(ack.data(), ack.size())), sender));
      if (dedup_.accept(sender, frame.session, frame.number)) return true;
      ++duplicates_;
      return false;
    }
    case Frame::Kind::ack:
      receipts_.mark_speaks(sender);
      receipts_.on_ack(sender, frame.session, frame.number);
      return false;
    case Frame::Kind::announce:
    case Frame::Kind::goodbye:
      if ((frame.flags & kSpeaksReceipts) != 0) receipts_.mark_speaks(sender);
      if (presence_ != nullptr) presence_->on_frame(sender, frame);
      return false;
    case Frame::Kind::plain:
      return true;
  }
  return true;
}

void Receiver::run() {
  try {
    // Heap, allocated once; pages a flood of small datagrams never touches cost no memory.
    auto storage = std::make_unique_for_overwrite<std::byte[]>(kBatch * kBufferBytes);
    std::vector<std::span<std::byte>> buffers;
    for (std::size_t i = 0; i < kBatch; ++i) {
      buffers.emplace_back(storage.get() + i * kBufferBytes, kBufferBytes);
    }
    std::vector<net::Datagram> datagrams(kBatch);
    asio::ip::udp::endpoint last_sender;
    std::string prefix;  // ">>>(IP, PORT):" of last_sender
    std::string lines;
    std::uint64_t errors_in_a_row = 0;
    for (;;) {
      const auto result = socket_.receive(buffers, datagrams);
      if (result.stopped) break;
      if (result.error) {
        ++receive_errors_;
        peer_errors_.drain();  // an ICMP report: the error queue says about which peer
        const auto value = result.error.value();
        const bool icmp = value == ECONNREFUSED || value == EHOSTUNREACH || value == ENETUNREACH ||
                          value == EHOSTDOWN;
        if (!icmp && ++errors_in_a_row <= kMaxErrorReports) {
          diagnostics_.print_error("receive: {}; receiving goes on", result.error.message());
        }
        continue;
      }
      errors_in_a_row = 0;
      kernel_drops_.store(std::max<std::uint64_t>(kernel_drops_.load(), result.kernel_drops));
      std::size_t count = 0;
      for (std::size_t i = 0; i < result.count; ++i) {
        const auto& datagram = datagrams[i];
        const std::string_view bytes(reinterpret_cast<const char*>(buffers[i].data()),
                                     std::min(datagram.size, kBufferBytes));
        // A cut datagram is no frame: its lengths cannot be trusted.
        const Frame frame = datagram.truncated ? Frame{.text = bytes} : parse_frame(bytes);
        if (frame.kind != Frame::Kind::plain && !take_frame(datagram.sender, frame)) continue;
        if (prefix.empty() || datagram.sender != last_sender) {
          last_sender = datagram.sender;
          prefix = message_prefix(Direction::received, last_sender);
        }
        lines += prefix;
        append_decoded(lines, frame.text, encoding_);
        if (datagram.truncated) lines += " [cut: longer than 64 KiB]";
        lines += '\n';
        ++count;
        ++received_;
        if (lines.size() >= kMaxPieceBytes) {
          hand_over(lines, count);
          count = 0;
        }
      }
      hand_over(lines, count);
    }
  } catch (const std::exception& failure) {
    // Nothing may escape a thread. Out of memory is the only plausible cause; say it.
    diagnostics_.print_error("receiver stopped: {}", failure.what());
  }
}

}  // namespace chat
