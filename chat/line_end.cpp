#include "chat/line_end.h"

namespace chat {

std::optional<LineEnd> parse_line_end(std::string_view name) {
  if (name == "none") return LineEnd::none;
  if (name == "lf") return LineEnd::lf;
  if (name == "crlf") return LineEnd::crlf;
  return std::nullopt;
}

std::string_view line_end_name(LineEnd eol) {
  switch (eol) {
    case LineEnd::none:
      return "none";
    case LineEnd::lf:
      return "lf";
    case LineEnd::crlf:
      return "crlf";
  }
  return "lf";
}

std::string with_line_end(std::string text, LineEnd eol) {
  switch (eol) {
    case LineEnd::none:
      break;
    case LineEnd::lf:
      text += '\n';
      break;
    case LineEnd::crlf:
      text += "\r\n";
      break;
  }
  return text;
}

std::size_t trailing_line_end(std::string_view datagram) {
  if (!datagram.ends_with('\n')) return 0;
  return datagram.ends_with("\r\n") ? 2 : 1;
}

}  // namespace chat
