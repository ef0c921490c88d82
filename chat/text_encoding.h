#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

// How the chat reads the bytes peers send (--encoding):
//   utf8  the bytes are UTF-8; shown through base::escape_text
//   gbk   the bytes are GBK (the Windows 网络调试助手 default), decoded to UTF-8 with glibc's
//         iconv, then escaped; a byte that is not part of a valid GBK character shows as \xNN
//   hex   every byte as two lowercase hex digits, separated by spaces ("48 69")
enum class Encoding { utf8, gbk, hex };

// "utf8" (also "utf-8"), "gbk", "hex" -> the encoding; anything else -> nullopt. Thread-safe.
std::optional<Encoding> parse_encoding(std::string_view name);
std::string_view encoding_name(Encoding encoding);

// Appends the bytes as text that is safe for a terminal and a log line, whatever they hold: the
// output is valid UTF-8 with no control character, as for base::escape_text, in every encoding.
// Thread-safe (each thread keeps its own iconv descriptor, created on first use).
void append_decoded(std::string& out, std::string_view bytes, Encoding encoding);
std::string decode_text(std::string_view bytes, Encoding encoding);

// What GBK decoding has cost the calling thread so far: calls into iconv and input bytes it
// converted. Decoding is linear in the input whatever a peer sends (a datagram of 65,507 bad
// bytes must not cost 65,507 conversions of the rest); tests bound these per input byte.
// Threading: per thread.
struct DecodeWork {
  std::uint64_t iconv_calls = 0;
  std::uint64_t bytes_converted = 0;
};
DecodeWork decode_work_of_this_thread();

// Appends "48 69 ..." for the bytes. Thread-safe.
void append_hex(std::string& out, std::string_view bytes);

// What goes on the wire for a line the user typed (UTF-8): unchanged for utf8 and hex, converted
// to GBK for gbk so that a GBK peer can read it. nullopt when the text has a character GBK cannot
// encode, or is not valid UTF-8. Thread-safe.
std::optional<std::string> encode_text(std::string_view utf8, Encoding encoding);

}  // namespace chat
