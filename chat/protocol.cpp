#include "chat/protocol.h"

#include <array>

namespace chat {

namespace {

constexpr std::array<char, 4> kMagic = {'\xFF', 'U', 'C', 'H'};
constexpr std::size_t kMessageBytes = kFrameHeaderBytes + 8;      // + session, number, then text
constexpr std::size_t kAckBytes = kFrameHeaderBytes + 8;          // + session, number, exactly
constexpr std::size_t kAnnounceMinBytes = kFrameHeaderBytes + 6;  // + session, flags, length

std::uint32_t read_u32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  }
  return value;
}

void append_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out += static_cast<char>((value >> shift) & 0xFF);
  }
}

std::string header(Frame::Kind kind, std::size_t reserve) {
  std::string out;
  out.reserve(reserve);
  out.append(kMagic.data(), kMagic.size());
  out += static_cast<char>(kProtocolVersion);
  out += static_cast<char>(kind);
  return out;
}

// Length of the valid UTF-8 character at text[at] (1 to 4), or 0 if none starts there.
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const auto continuation = [&](std::size_t i) {
    return at + i < text.size() && (byte(i) & 0xC0) == 0x80;
  };
  const unsigned char first = byte(0);
  if (first < 0x80) return 1;
  if (first >= 0xC2 && first <= 0xDF) return continuation(1) ? 2 : 0;
  if (first >= 0xE0 && first <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (first == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (first == 0xED && byte(1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (first >= 0xF0 && first <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (first == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (first == 0xF4 && byte(1) >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

bool is_control(std::string_view text, std::size_t at, std::size_t length) {
  const auto first = static_cast<unsigned char>(text[at]);
  if (length == 1) return first < 0x20 || first == 0x7F;
  // C1 controls U+0080..U+009F are C2 80..C2 9F.
  return length == 2 && first == 0xC2 && static_cast<unsigned char>(text[at + 1]) < 0xA0;
}

Frame parse_presence(std::string_view datagram, Frame frame) {
  if (datagram.size() < kAnnounceMinBytes) return Frame{.text = datagram};
  frame.session = read_u32(datagram, kFrameHeaderBytes);
  frame.flags = static_cast<std::uint8_t>(datagram[kFrameHeaderBytes + 4]);
  const auto length = static_cast<unsigned char>(datagram[kFrameHeaderBytes + 5]);
  if ((frame.flags & ~kKnownAnnounceFlags) != 0) return Frame{.text = datagram};
  if (datagram.size() != kAnnounceMinBytes + length) return Frame{.text = datagram};
  frame.text = datagram.substr(kAnnounceMinBytes, length);
  if (!valid_peer_name(frame.text)) return Frame{.text = datagram};
  return frame;
}

std::string encode_presence(Frame::Kind kind, std::uint32_t session, std::uint8_t flags,
                            std::string_view name) {
  const std::string fitted = sanitize_peer_name(name);
  auto out = header(kind, kAnnounceMinBytes + fitted.size());
  append_u32(out, session);
  out += static_cast<char>(flags & kKnownAnnounceFlags);
  out += static_cast<char>(fitted.size());
  out += fitted;
  return out;
}

}  // namespace

Frame parse_frame(std::string_view datagram) noexcept {
  const Frame plain{.text = datagram};
  if (datagram.size() < kFrameHeaderBytes) return plain;
  if (datagram.substr(0, kMagic.size()) != std::string_view(kMagic.data(), kMagic.size())) {
    return plain;
  }
  if (static_cast<std::uint8_t>(datagram[4]) != kProtocolVersion) return plain;
  Frame frame;
  switch (static_cast<unsigned char>(datagram[5])) {
    case static_cast<unsigned char>(Frame::Kind::message):
      if (datagram.size() < kMessageBytes) return plain;
      frame.kind = Frame::Kind::message;
      frame.session = read_u32(datagram, kFrameHeaderBytes);
      frame.number = read_u32(datagram, kFrameHeaderBytes + 4);
      frame.text = datagram.substr(kMessageBytes);
      return frame;
    case static_cast<unsigned char>(Frame::Kind::ack):
      if (datagram.size() != kAckBytes) return plain;
      frame.kind = Frame::Kind::ack;
      frame.session = read_u32(datagram, kFrameHeaderBytes);
      frame.number = read_u32(datagram, kFrameHeaderBytes + 4);
      return frame;
    case static_cast<unsigned char>(Frame::Kind::announce):
      frame.kind = Frame::Kind::announce;
      return parse_presence(datagram, frame);
    case static_cast<unsigned char>(Frame::Kind::goodbye):
      frame.kind = Frame::Kind::goodbye;
      return parse_presence(datagram, frame);
    default:
      return plain;
  }
}

bool valid_peer_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxPeerNameBytes) return false;
  for (std::size_t at = 0; at < name.size();) {
    const auto length = utf8_length(name, at);
    if (length == 0 || is_control(name, at, length)) return false;
    at += length;
  }
  return true;
}

std::string sanitize_peer_name(std::string_view name) {
  std::string out;
  for (std::size_t at = 0; at < name.size();) {
    auto length = utf8_length(name, at);
    const bool bad = length == 0 || is_control(name, at, length);
    if (bad) length = length == 0 ? 1 : length;
    const std::size_t adds = bad ? 1 : length;
    if (out.size() + adds > kMaxPeerNameBytes) break;
    if (bad) {
      out += '?';
    } else {
      out.append(name.substr(at, length));
    }
    at += length;
  }
  if (out.empty()) out.push_back('?');
  return out;
}

std::string encode_message(std::uint32_t session, std::uint32_t number, std::string_view text) {
  auto out = header(Frame::Kind::message, kMessageBytes + text.size());
  append_u32(out, session);
  append_u32(out, number);
  out.append(text);
  return out;
}

std::string encode_ack(std::uint32_t session, std::uint32_t number) {
  auto out = header(Frame::Kind::ack, kAckBytes);
  append_u32(out, session);
  append_u32(out, number);
  return out;
}

std::string encode_announce(std::uint32_t session, std::uint8_t flags, std::string_view name) {
  return encode_presence(Frame::Kind::announce, session, flags, name);
}

std::string encode_goodbye(std::uint32_t session, std::uint8_t flags, std::string_view name) {
  return encode_presence(Frame::Kind::goodbye, session, flags, name);
}

}  // namespace chat
