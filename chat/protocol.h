#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace chat {

// The framing of datagrams between two udp-chats (docs/protocol.md): numbered messages, their
// acks, and presence announcements. Every frame starts with the 4-byte magic FF 55 43 48 ("\xFF"
// then "UCH"; 0xFF never occurs in UTF-8 or GBK text), a version byte (1) and a kind byte. All
// integers are big-endian. Anything that does not parse as a frame of version 1, exactly, is a
// plain message and is shown as it is.
//
// Parsing and encoding are pure functions: no I/O, no exceptions on any input, every length
// checked against the datagram's size. Threading: thread-safe (pure).

inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::size_t kFrameHeaderBytes = 6;        // magic, version, kind
inline constexpr std::size_t kMaxPeerNameBytes = 64;       // an announced name, in bytes
inline constexpr std::uint8_t kSpeaksReceipts = 0x01;      // announce flag: acks numbered messages
inline constexpr std::uint8_t kKnownAnnounceFlags = 0x01;  // other bits must be 0 in version 1

// One parsed datagram (a plain value whose views point into the datagram: keep the datagram
// alive while using them). `session` is the sender's run (a random number chosen at start), so
// numbers of a restarted chat are not taken for repeats of its previous run's.
struct Frame {
  enum class Kind : std::uint8_t {
    plain = 0,     // not a frame: the whole datagram is the text
    message = 1,   // session, number, text
    ack = 2,       // session (of the message's sender), number
    announce = 3,  // session, flags, name
    goodbye = 4,   // session, flags, name
  };
  Kind kind = Kind::plain;
  std::uint32_t session = 0;
  std::uint32_t number = 0;  // message, ack
  std::uint8_t flags = 0;    // announce, goodbye
  std::string_view text;     // plain: the datagram; message: its text; announce/goodbye: the name
};

// Never throws; a Frame whose views point into `datagram`.
Frame parse_frame(std::string_view datagram) noexcept;

// True if `name` may be announced: 1 to 64 bytes of valid UTF-8 without control characters.
bool valid_peer_name(std::string_view name) noexcept;

std::string encode_message(std::uint32_t session, std::uint32_t number, std::string_view text);
std::string encode_ack(std::uint32_t session, std::uint32_t number);
// `name` must satisfy valid_peer_name (it is cut to 64 bytes at a character boundary if longer).
std::string encode_announce(std::uint32_t session, std::uint8_t flags, std::string_view name);
std::string encode_goodbye(std::uint32_t session, std::uint8_t flags, std::string_view name);

// A name made fit to announce: control characters and invalid UTF-8 become '?', cut to 64 bytes
// at a character boundary, "?" when empty.
std::string sanitize_peer_name(std::string_view name);

}  // namespace chat
