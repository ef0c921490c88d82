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

// Bidi controls, line and paragraph separators, and every default-ignorable code point (Unicode's
// DerivedCoreProperties: U+00AD soft hyphen, U+034F, U+061C Arabic letter mark, U+115F/60,
// U+17B4/5, U+180B-F, U+200B-F zero-width and direction marks, U+202A-E embeddings, U+2060-6F
// word joiner and isolates, U+3164, U+FE00-F variation selectors, U+FEFF, U+FFA0, U+FFF0-8,
// U+1BCA0-3, U+1D173-A, U+E0000-E0FFF tags): they can reorder, split or hide what a reader sees.
bool is_hidden_or_reordering(std::uint32_t cp) {
  if (cp < 0xad) return false;  // the fast path for Latin text
  return cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 ||
         cp == 0x17b5 || (cp >= 0x180b && cp <= 0x180f) || (cp >= 0x200b && cp <= 0x200f) ||
         cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) ||
         cp == 0xfeff || cp == 0xffa0 || (cp >= 0xfff0 && cp <= 0xfff8) ||
         (cp >= 0x1bca0 && cp <= 0x1bca3) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
         (cp >= 0xe0000 && cp <= 0xe0fff);
}

// Pictographs that emoji sequences join: the symbol blocks and everything from U+1F000 up to the
// end of the supplementary symbols (skin tones, flags' regional indicators included).
bool is_pictograph(std::uint32_t cp) {
  return (cp >= 0x2300 && cp <= 0x23ff) || (cp >= 0x2600 && cp <= 0x27bf) ||
         (cp >= 0x2b00 && cp <= 0x2bff) || (cp >= 0x1f000 && cp <= 0x1faff);
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

// An emoji joiner (U+200D) or variation selector (U+FE0E/F) that only shapes the pictograph it
// follows: let through, since it can neither reorder nor hide text. Elsewhere (between letters,
// alone) it is escaped like every other invisible character.
bool is_emoji_shaping(std::uint32_t cp, std::uint32_t previous, std::string_view rest) {
  if (cp == 0x200d) {
    std::uint32_t next = 0;
    return is_pictograph(previous) && !rest.empty() && decode_utf8(rest, next) != 0 &&
           is_pictograph(next);
  }
  if (cp == 0xfe0e || cp == 0xfe0f) {
    // After a pictograph, or a keycap's digit, '#' or '*' ("1️⃣" is 1, U+FE0F, U+20E3).
    return is_pictograph(previous) || (previous >= '0' && previous <= '9') || previous == '#' ||
           previous == '*';
  }
  return false;
}

// True when `bytes` at `at` starts another chat line's prefix, "<<<(" or ">>>(": its first
// byte is then escaped, so no message can carry a line of its own (after enough spaces that the
// terminal wraps, say).
bool starts_line_prefix(std::string_view bytes, std::size_t at) {
  const auto rest = bytes.substr(at);
  return rest.starts_with("<<<(") || rest.starts_with(">>>(");
}

}  // namespace

void append_escaped(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + bytes.size());
  std::size_t i = 0;
  std::uint32_t previous = 0;  // the last code point passed through unescaped, or 0
  while (i < bytes.size()) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if (byte >= 0x20 && byte < 0x7f) {  // printable ASCII, the common case
      if ((byte == '<' || byte == '>') && starts_line_prefix(bytes, i)) {
        append_byte_escape(out, byte);
        previous = 0;
        ++i;
        continue;
      }
      if (byte == '\\') out += '\\';
      out += static_cast<char>(byte);
      previous = byte;
      ++i;
      continue;
    }
    previous = byte >= 0x80 ? previous : 0;
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
      previous = 0;
    } else if (is_hidden_or_reordering(code_point) &&
               !is_emoji_shaping(code_point, previous, bytes.substr(i + length))) {
      append_code_point_escape(out, code_point);
      previous = 0;
      i += length;
    } else {
      out.append(bytes.substr(i, length));
      previous = code_point;
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
