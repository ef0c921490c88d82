#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chat {

// Makes untrusted bytes safe to show on a terminal and to write as one log line: the result is
// valid UTF-8 and holds no control character, so a peer can neither drive the terminal (colours,
// cursor moves, title changes, queries) nor start a forged log line.
//   \n \r \t \\          -> those two-character escapes
//   other C0, DEL, C1    -> \xNN for each byte (C1 code points are two bytes in UTF-8)
//   invalid UTF-8        -> \xNN for each offending byte (overlong, surrogate, > U+10FFFF, cut)
//   bidi and line/paragraph separators (U+200E/F, U+2028/9, U+202A-E, U+2066-9, U+FEFF)
//                        -> \u{XXXX}, since they can reorder or split what a reader sees
// Printable UTF-8, Chinese included, passes unchanged.
// Threading: pure function, thread-safe.
std::string escape_text(std::string_view bytes);

inline std::string escape_text(std::span<const std::byte> bytes) {
  return escape_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Appends escape_text(bytes) to `out`, reusing its capacity (the receiver's hot path).
void append_escaped(std::string& out, std::string_view bytes);

// How the chat reads the bytes peers send (--encoding):
//   utf8  the bytes are UTF-8; shown through escape_text
//   gbk   the bytes are GBK (the Windows 网络调试助手 default), decoded to UTF-8 with glibc's
//         iconv, then escaped; a byte that is not part of a valid GBK character shows as \xNN
//   hex   every byte as two lowercase hex digits, separated by spaces ("48 69")
enum class Encoding { utf8, gbk, hex };

// "utf8" (also "utf-8"), "gbk", "hex" -> the encoding; anything else -> nullopt. Thread-safe.
std::optional<Encoding> parse_encoding(std::string_view name);
std::string_view encoding_name(Encoding encoding);

// Appends the bytes as text that is safe for a terminal and a log line, whatever they hold: the
// output is valid UTF-8 with no control character, as for escape_text, in every encoding.
// Thread-safe (each thread keeps its own iconv descriptor, created on first use).
void append_decoded(std::string& out, std::string_view bytes, Encoding encoding);
std::string decode_text(std::string_view bytes, Encoding encoding);

// Appends "48 69 ..." for the bytes. Thread-safe.
void append_hex(std::string& out, std::string_view bytes);

// What goes on the wire for a line the user typed (UTF-8): unchanged for utf8 and hex, converted
// to GBK for gbk so that a GBK peer can read it. nullopt when the text has a character GBK cannot
// encode, or is not valid UTF-8. Thread-safe.
std::optional<std::string> encode_text(std::string_view utf8, Encoding encoding);

}  // namespace chat
