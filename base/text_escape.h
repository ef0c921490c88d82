#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace base {

// Makes untrusted bytes safe to show on a terminal and to write as one log line: the result is
// valid UTF-8 and holds no control character, so a peer can neither drive the terminal (colours,
// cursor moves, title changes, queries) nor start a forged log line.
//   \n \r \t \\          -> those two-character escapes
//   other C0, DEL, C1    -> \xNN for each byte (C1 code points are two bytes in UTF-8)
//   invalid UTF-8        -> \xNN for each offending byte (overlong, surrogate, > U+10FFFF, cut)
//   bidi controls, line/paragraph separators and every default-ignorable code point (U+061C,
//   U+200B-F, U+202A-E, U+2060-6F, U+FEFF, U+00AD, tags U+E0000-E0FFF, ...)
//                        -> \u{XXXX}, since they can reorder, split or hide what a reader sees;
//                           only an emoji joiner (U+200D between two pictographs) and a
//                           variation selector right after a pictograph or keycap pass
//   "<<<(" and ">>>(" (another chat line's prefix) -> \x3c<<( and \x3e>>(
// Printable UTF-8, Chinese and emoji included, passes unchanged. The escapes are unambiguous:
// the input can be recovered from the output.
// Threading: pure function, thread-safe.
std::string escape_text(std::string_view bytes);

inline std::string escape_text(std::span<const std::byte> bytes) {
  return escape_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Appends escape_text(bytes) to `out`, reusing its capacity (the chat receiver's hot path).
void append_escaped(std::string& out, std::string_view bytes);

// Appends "\xNN" for one byte. Thread-safe.
void append_byte_escape(std::string& out, unsigned char byte);

// A user's text inside an error line: quoted, escaped as escape_text does (so hostile or binary
// input cannot break the one-line contract or drive the terminal), and cut after `max_bytes` with
// "..." — "bad port 'abc': ...", "bad value '0x1...'". Every program's error lines quote user
// text through this one function. Thread-safe.
std::string quote_for_error(std::string_view text, std::size_t max_bytes = 64);

}  // namespace base
