// Fuzzes chat::escape_text, the one escaper between a hostile peer and a terminal or log file.
// Properties checked on every input:
//  - the output is valid UTF-8 and holds no C0, DEL or C1 control character, and no newline:
//    nothing can drive a terminal or start a forged log line;
//  - escaping is injective where it matters: unescaping the output gives the input back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/text_escape.h"

namespace {

[[noreturn]] void fail() { std::abort(); }

// Decodes one UTF-8 sequence; returns its length, or 0 if invalid.
std::size_t utf8_length(std::string_view s, std::uint32_t& cp) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t n = 0;
  if (b(0) < 0x80) return cp = b(0), 1;
  if (b(0) >= 0xc2 && b(0) <= 0xdf) n = 2, cp = b(0) & 0x1fU;
  else if (b(0) >= 0xe0 && b(0) <= 0xef) n = 3, cp = b(0) & 0x0fU;
  else if (b(0) >= 0xf0 && b(0) <= 0xf4) n = 4, cp = b(0) & 0x07U;
  else return 0;
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
    if (kind == 'n') out += '\n', i += 2;
    else if (kind == 'r') out += '\r', i += 2;
    else if (kind == 't') out += '\t', i += 2;
    else if (kind == '\\') out += '\\', i += 2;
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string escaped = chat::escape_text(input);
  for (std::size_t i = 0; i < escaped.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8_length(std::string_view(escaped).substr(i), cp);
    if (n == 0) fail();                                   // invalid UTF-8 in the output
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) fail();  // a control character
    if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e)) fail();
    i += n;
  }
  if (unescape(escaped) != input) fail();  // two different inputs never look the same
  return 0;
}
