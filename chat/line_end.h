#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

// What ends a line on the wire (--eol; docs/design.md, "Line ends"). Tools that read UDP as text
// (nc -u, socat UDP-RECV, NetAssist) print datagrams back to back, so a typed line arrives as a
// line only when it carries its own end:
//   none  the typed bytes alone: byte for byte what the classic Python chat sends
//   lf    the typed bytes and "\n" (the default)
//   crlf  the typed bytes and "\r\n" (what Windows tools such as NetAssist send)
enum class LineEnd { none, lf, crlf };

// "none", "lf", "crlf" -> the line end; anything else -> nullopt. Thread-safe (pure).
std::optional<LineEnd> parse_line_end(std::string_view name);
std::string_view line_end_name(LineEnd eol);

// The bytes of a datagram for one typed line (already encoded for the wire): `text` with `eol`
// appended. The one place where a plain datagram's end of line is made. Thread-safe (pure).
std::string with_line_end(std::string text, LineEnd eol);

// How many bytes at the end of a received datagram are its single line end: 2 for a trailing
// "\r\n", 1 for a trailing "\n", else 0. On screen that line end ends the shown line instead of
// showing as an escape; "hi\n\n" ends in one line end and shows as "hi\n". Thread-safe (pure).
std::size_t trailing_line_end(std::string_view datagram);

}  // namespace chat
