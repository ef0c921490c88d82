#include "chat/text_escape.h"

#include <iconv.h>

#include <cerrno>
#include <cstdint>

namespace chat {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_byte_escape(std::string& out, unsigned char byte) {
  out += "\\x";
  out += kHexDigits[byte >> 4];
  out += kHexDigits[byte & 0x0f];
}

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
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
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

}  // namespace chat

// ---- encodings ------------------------------------------------------------------------------

namespace chat {

namespace {

// One iconv descriptor per thread and direction: iconv_t keeps conversion state, so it must not
// be shared between threads, and opening one per message would cost a gconv lookup each time.
class IconvHandle {
 public:
  IconvHandle(const char* to, const char* from) : handle_(::iconv_open(to, from)) {}
  ~IconvHandle() {
    if (valid()) ::iconv_close(handle_);
  }
  IconvHandle(const IconvHandle&) = delete;
  IconvHandle& operator=(const IconvHandle&) = delete;
  bool valid() const { return handle_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return handle_; }

 private:
  iconv_t handle_;
};

IconvHandle& gbk_decoder() {
  thread_local IconvHandle handle("UTF-8", "GBK");
  return handle;
}

IconvHandle& gbk_encoder() {
  thread_local IconvHandle handle("GBK", "UTF-8");
  return handle;
}

struct Converted {
  std::size_t consumed = 0;  // input bytes converted into `out`
  bool stopped_at_bad = false;  // stopped at an invalid (or, at the end, incomplete) sequence
};

// Converts as much of `in` as is valid, appending the output to `out`.
Converted convert(IconvHandle& handle, std::string_view in, std::string& out) {
  Converted result;
  ::iconv(handle.get(), nullptr, nullptr, nullptr, nullptr);  // back to the initial state
  auto* in_ptr = const_cast<char*>(in.data());
  std::size_t in_left = in.size();
  while (in_left > 0) {
    const std::size_t start = out.size();
    const std::size_t room = in_left * 2 + 16;  // GBK->UTF-8 grows at most 3/2; UTF-8->GBK shrinks
    out.resize(start + room);
    char* out_ptr = out.data() + start;
    std::size_t out_left = room;
    const std::size_t rc = ::iconv(handle.get(), &in_ptr, &in_left, &out_ptr, &out_left);
    out.resize(start + (room - out_left));
    if (rc != static_cast<std::size_t>(-1)) break;
    if (errno == E2BIG) continue;
    result.stopped_at_bad = true;  // EILSEQ (invalid) or EINVAL (cut short at the end)
    break;
  }
  result.consumed = in.size() - in_left;
  return result;
}

}  // namespace

std::optional<Encoding> parse_encoding(std::string_view name) {
  if (name == "utf8" || name == "utf-8" || name == "UTF-8") return Encoding::utf8;
  if (name == "gbk" || name == "GBK") return Encoding::gbk;
  if (name == "hex") return Encoding::hex;
  return std::nullopt;
}

std::string_view encoding_name(Encoding encoding) {
  switch (encoding) {
    case Encoding::utf8: return "utf8";
    case Encoding::gbk: return "gbk";
    case Encoding::hex: return "hex";
  }
  return "utf8";
}

void append_hex(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + bytes.size() * 3);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if (i != 0) out += ' ';
    out += kHexDigits[byte >> 4];
    out += kHexDigits[byte & 0x0f];
  }
}

void append_decoded(std::string& out, std::string_view bytes, Encoding encoding) {
  switch (encoding) {
    case Encoding::utf8:
      append_escaped(out, bytes);
      return;
    case Encoding::hex:
      append_hex(out, bytes);
      return;
    case Encoding::gbk:
      break;
  }
  auto& decoder = gbk_decoder();
  if (!decoder.valid()) {  // no GBK module in this glibc: still safe, just not decoded
    append_escaped(out, bytes);
    return;
  }
  // The decoded UTF-8 goes through the one escaper; bytes that are not GBK become \xNN directly
  // (escaping their UTF-8 stand-in instead would make "\x81" typed by a peer look the same).
  thread_local std::string decoded;
  while (!bytes.empty()) {
    decoded.clear();
    const Converted converted = convert(decoder, bytes, decoded);
    append_escaped(out, decoded);
    bytes.remove_prefix(converted.consumed);
    if (converted.stopped_at_bad && !bytes.empty()) {
      append_byte_escape(out, static_cast<unsigned char>(bytes.front()));
      bytes.remove_prefix(1);
    } else if (converted.consumed == 0) {
      break;  // cannot happen (iconv either progresses or reports), but never loop forever
    }
  }
}

std::string decode_text(std::string_view bytes, Encoding encoding) {
  std::string out;
  append_decoded(out, bytes, encoding);
  return out;
}

std::optional<std::string> encode_text(std::string_view utf8, Encoding encoding) {
  if (encoding != Encoding::gbk) return std::string(utf8);
  auto& encoder = gbk_encoder();
  if (!encoder.valid()) return std::nullopt;
  std::string out;
  const Converted converted = convert(encoder, utf8, out);
  if (converted.stopped_at_bad || converted.consumed != utf8.size()) return std::nullopt;
  return out;
}

}  // namespace chat
