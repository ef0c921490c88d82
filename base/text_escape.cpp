#include "base/text_escape.h"

#include <cstdint>

namespace base {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_code_point_escape(std::string& out, std::uint32_t code_point) {
  out += "\\u{";
  bool started = false;
  for (int shift = 20; shift >= 0; shift -= 4) {
    const auto digit = (code_point >> shift) & 0x0f;
    if (digit != 0 || started || shift == 0) {
      out += kHexDigits[digit];
      started = true;
    }
  }
  out += '}';
}

bool is_invisible_format_char(std::uint32_t cp) {
  return cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

// Length of the valid UTF-8 sequence at the start of `text` and its code point, or 0 if the
// bytes there are not valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
std::size_t decode_utf8(std::string_view text, std::uint32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  std::uint32_t minimum = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, code_point = lead & 0x1fU, minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, code_point = lead & 0x0fU, minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, code_point = lead & 0x07U, minimum = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3fU);
  }
  if (code_point < minimum || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return 0;
  }
  return length;
}

}  // namespace

void append_escaped(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if (byte >= 0x20 && byte < 0x7f) {  // printable ASCII, the common case
      if (byte == '\\') out += '\\';
      out += static_cast<char>(byte);
      ++i;
      continue;
    }
    switch (byte) {
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    std::uint32_t code_point = 0;
    const std::size_t length = decode_utf8(bytes.substr(i), code_point);
    if (length == 0 || code_point < 0x20 || code_point == 0x7f ||
        (code_point >= 0x80 && code_point <= 0x9f)) {
      // Invalid, or a C0/C1 control: show its bytes, never pass them.
      const std::size_t shown = length == 0 ? 1 : length;
      for (std::size_t k = 0; k < shown; ++k) {
        append_byte_escape(out, static_cast<unsigned char>(bytes[i + k]));
      }
      i += shown;
    } else if (is_invisible_format_char(code_point)) {
      append_code_point_escape(out, code_point);
      i += length;
    } else {
      out.append(bytes.substr(i, length));
      i += length;
    }
  }
}

std::string escape_text(std::string_view bytes) {
  std::string out;
  append_escaped(out, bytes);
  return out;
}

void append_byte_escape(std::string& out, unsigned char byte) {
  out += "\\x";
  out += kHexDigits[byte >> 4];
  out += kHexDigits[byte & 0x0f];
}

std::string quote_for_error(std::string_view text, std::size_t max_bytes) {
  std::string out = "'";
  if (text.size() <= max_bytes) {
    append_escaped(out, text);
    return out + "'";
  }
  // Cut at a character boundary, so the shown part does not end in a stray \xNN.
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  append_escaped(out, text.substr(0, cut));
  return out + "...'";
}

}  // namespace base
