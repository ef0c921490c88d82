// Fuzzes what any host on the network can send a udp-chat: datagrams, taken apart by
// chat::parse_frame and fed, as the receiver does, to the dedup window (numbered messages) and to
// the messages waiting for acks (acks). The input is a run of records, each
// [length][sender][datagram of that length], so one input is a whole exchange with many peers.
// Properties checked:
//  - parsing never crashes; a plain frame is the whole datagram; a frame's text lies inside the
//    datagram; encoding a parsed frame gives the same bytes back (one wire form per frame);
//  - announced names are valid (1..64 bytes of UTF-8, no control characters);
//  - state stays bounded whatever arrives: the dedup window tracks at most its peers, the
//    waiting list never grows from acks (only the acks of its own messages settle them), and a
//    number just accepted is a repeat when it comes again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chat/dedup_window.h"
#include "chat/pending_messages.h"
#include "chat/protocol.h"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

std::string encode_again(const chat::Frame& frame) {
  using Kind = chat::Frame::Kind;
  switch (frame.kind) {
    case Kind::message:
      return chat::encode_message(frame.session, frame.number, frame.text);
    case Kind::ack:
      return chat::encode_ack(frame.session, frame.number);
    case Kind::announce:
      return chat::encode_announce(frame.session, frame.flags, frame.text);
    case Kind::goodbye:
      return chat::encode_goodbye(frame.session, frame.flags, frame.text);
    case Kind::plain:
      break;
  }
  return std::string(frame.text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kPeers = 8;
  chat::DedupWindow window(kPeers);
  chat::PendingMessages pending({}, 4);
  const auto now = chat::PendingMessages::Clock::time_point{} + std::chrono::hours(1);
  const asio::ip::udp::endpoint known(asio::ip::make_address_v4("127.0.0.1"), 7890);
  for (std::uint32_t number = 1; number <= 4; ++number) {
    pending.track(number, known, "wire", "text", now);
    pending.release(number);
  }
  std::size_t settled = 0;

  // The whole input as one datagram, then as records.
  for (std::size_t at = 0, round = 0; at <= input.size() && round < 4096; ++round) {
    std::string_view datagram;
    unsigned sender = 0;
    if (round == 0) {
      datagram = input;
    } else {
      if (at + 2 > input.size()) break;
      const std::size_t length = static_cast<unsigned char>(input[at]);
      sender = static_cast<unsigned char>(input[at + 1]);
      at += 2;
      datagram = input.substr(at, length);
      at += datagram.size();
    }
    const chat::Frame frame = chat::parse_frame(datagram);
    require(inside(frame.text, datagram));
    if (frame.kind == chat::Frame::Kind::plain) {
      require(frame.text.size() == datagram.size());
      continue;
    }
    require(encode_again(frame) == datagram);
    const asio::ip::udp::endpoint from(
        asio::ip::make_address_v4(asio::ip::address_v4::uint_type{0x7F000001u + (sender % 16)}),
        static_cast<unsigned short>(7890 + sender / 16));
    switch (frame.kind) {
      case chat::Frame::Kind::message:
        if (window.accept(from, frame.session, frame.number) == chat::DedupWindow::Verdict::first) {
          // The same datagram again, at once, is a repeat.
          require(window.accept(from, frame.session, frame.number) ==
                  chat::DedupWindow::Verdict::repeat);
        }
        break;
      case chat::Frame::Kind::ack:
        if (pending.ack(from, frame.number, now)) ++settled;
        break;
      case chat::Frame::Kind::announce:
      case chat::Frame::Kind::goodbye:
        require(chat::valid_peer_name(frame.text));
        break;
      case chat::Frame::Kind::plain:
        break;
    }
    require(window.peers() <= kPeers);
    require(pending.size() + settled == 4);
  }
  return 0;
}
