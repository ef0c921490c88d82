// Fuzzes base::escape_text, the one escaper between a hostile peer and a terminal or log file,
// and the GBK decoder built on it. Properties checked on every input:
//  - the output is valid UTF-8 and holds no C0, DEL or C1 control character, no newline, no bidi
//    control and no default-ignorable code point outside an emoji sequence (U+200D between two
//    pictographs, U+FE0E/F after a pictograph or keycap): nothing can drive a terminal, reorder
//    or hide text, or start a forged log line;
//  - no output holds another chat line's prefix, "<<<(" or ">>>(";
//  - escaping is injective where it matters: unescaping the output gives the input back;
//  - GBK decoding does work linear in the input: fewer iconv calls than input bytes, and no input
//    byte converted more than twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/text_escape.h"
#include "chat/text_encoding.h"

namespace {

[[noreturn]] void fail() {
  std::abort();
}

// Decodes one UTF-8 sequence; returns its length, or 0 if invalid.
std::size_t utf8_length(std::string_view s, std::uint32_t& cp) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t n = 0;
  if (b(0) < 0x80) return cp = b(0), 1;
  if (b(0) >= 0xc2 && b(0) <= 0xdf)
    n = 2, cp = b(0) & 0x1fU;
  else if (b(0) >= 0xe0 && b(0) <= 0xef)
    n = 3, cp = b(0) & 0x0fU;
  else if (b(0) >= 0xf0 && b(0) <= 0xf4)
    n = 4, cp = b(0) & 0x07U;
  else
    return 0;
  if (s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3fU);
  }
  return n;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '\\') {
      out += s[i++];
      continue;
    }
    if (i + 1 >= s.size()) fail();  // a lone trailing backslash can't come out of the escaper
    const char kind = s[i + 1];
    if (kind == 'n')
      out += '\n', i += 2;
    else if (kind == 'r')
      out += '\r', i += 2;
    else if (kind == 't')
      out += '\t', i += 2;
    else if (kind == '\\')
      out += '\\', i += 2;
    else if (kind == 'x') {
      if (i + 3 >= s.size()) fail();  // \xNN needs two hex digits
      const int hi = hex_value(s[i + 2]), lo = hex_value(s[i + 3]);
      if (hi < 0 || lo < 0) fail();
      out += static_cast<char>(hi * 16 + lo);
      i += 4;
    } else if (kind == 'u') {
      const auto close = s.find('}', i);
      if (s.size() < i + 4 || s[i + 2] != '{' || close == std::string_view::npos) fail();
      std::uint32_t cp = 0;
      for (std::size_t k = i + 3; k < close; ++k) {
        const int v = hex_value(s[k]);
        if (v < 0) fail();
        cp = cp * 16 + static_cast<std::uint32_t>(v);
      }
      append_utf8(out, cp);
      i = close + 1;
    } else {
      fail();
    }
  }
  return out;
}

bool is_pictograph(std::uint32_t cp) {
  return (cp >= 0x2300 && cp <= 0x23ff) || (cp >= 0x2600 && cp <= 0x27bf) ||
         (cp >= 0x2b00 && cp <= 0x2bff) || (cp >= 0x1f000 && cp <= 0x1faff);
}

// Unicode's bidi controls, separators and default-ignorable code points.
bool is_hidden_or_reordering(std::uint32_t cp) {
  return cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 ||
         cp == 0x17b5 || (cp >= 0x180b && cp <= 0x180f) || (cp >= 0x200b && cp <= 0x200f) ||
         cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) ||
         cp == 0xfeff || cp == 0xffa0 || (cp >= 0xfff0 && cp <= 0xfff8) ||
         (cp >= 0x1bca0 && cp <= 0x1bca3) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
         (cp >= 0xe0000 && cp <= 0xe0fff);
}

// The safety properties every escaped or decoded text must have.
void check_safe(std::string_view text) {
  if (text.find("<<<(") != std::string_view::npos) fail();
  if (text.find(">>>(") != std::string_view::npos) fail();
  std::uint32_t previous = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8_length(text.substr(i), cp);
    if (n == 0) fail();                                                 // invalid UTF-8
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) fail();  // a control character
    if (is_hidden_or_reordering(cp)) {
      std::uint32_t next = 0;
      const bool joiner = cp == 0x200d && is_pictograph(previous) &&
                          utf8_length(text.substr(i + n), next) != 0 && is_pictograph(next);
      const bool selector = (cp == 0xfe0e || cp == 0xfe0f) &&
                            (is_pictograph(previous) || (previous >= '0' && previous <= '9') ||
                             previous == '#' || previous == '*');
      if (!joiner && !selector) fail();
    }
    previous = cp;
    i += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string escaped = base::escape_text(input);
  check_safe(escaped);
  if (unescape(escaped) != input) fail();  // two different inputs never look the same
  const auto before = chat::decode_work_of_this_thread();
  check_safe(chat::decode_text(input, chat::Encoding::gbk));
  const auto after = chat::decode_work_of_this_thread();
  if (after.iconv_calls - before.iconv_calls > size) fail();
  if (after.bytes_converted - before.bytes_converted > 2 * size) fail();
  return 0;
}
