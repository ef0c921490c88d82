#include "chat/text_encoding.h"

#include <iconv.h>

#include <cerrno>
#include <cstdint>

#include "base/text_escape.h"

namespace chat {

using base::append_byte_escape;
using base::append_escaped;

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

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
  std::size_t consumed = 0;     // input bytes converted into `out`
  bool stopped_at_bad = false;  // stopped at an invalid (or, at the end, incomplete) sequence
};

thread_local DecodeWork work_of_this_thread;

// Converts as much of `in` as is valid, appending the output to `out`. The output goes through a
// fixed buffer and is appended as produced: the cost is linear in what is converted, however
// often a peer's bad bytes make the caller start again.
Converted convert(IconvHandle& handle, std::string_view in, std::string& out) {
  Converted result;
  ::iconv(handle.get(), nullptr, nullptr, nullptr, nullptr);  // back to the initial state
  auto* in_ptr = const_cast<char*>(in.data());
  std::size_t in_left = in.size();
  char buffer[4096];
  while (in_left > 0) {
    char* out_ptr = buffer;
    std::size_t out_left = sizeof(buffer);
    const std::size_t rc = ::iconv(handle.get(), &in_ptr, &in_left, &out_ptr, &out_left);
    ++work_of_this_thread.iconv_calls;
    out.append(buffer, sizeof(buffer) - out_left);
    if (rc != static_cast<std::size_t>(-1)) break;
    if (errno == E2BIG) continue;
    result.stopped_at_bad = true;  // EILSEQ (invalid) or EINVAL (cut short at the end)
    break;
  }
  result.consumed = in.size() - in_left;
  work_of_this_thread.bytes_converted += result.consumed;
  return result;
}

// The longest start of `bytes` that has GBK's structure: ASCII bytes, and lead bytes 0x81-0xFE
// each followed by a trail byte 0x40-0x7E or 0x80-0xFE. Only such runs go to iconv; a byte that
// cannot be GBK at all is escaped without asking iconv, so a flood of garbage costs no
// conversion calls.
std::size_t gbk_shaped_run(std::string_view bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[at]);
    if (lead < 0x80) {
      ++at;
      continue;
    }
    if (lead == 0x80 || lead == 0xff || at + 1 >= bytes.size()) break;
    const auto trail = static_cast<unsigned char>(bytes[at + 1]);
    if (trail < 0x40 || trail == 0x7f || trail == 0xff) break;
    at += 2;
  }
  return at;
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
    case Encoding::utf8:
      return "utf8";
    case Encoding::gbk:
      return "gbk";
    case Encoding::hex:
      return "hex";
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
  // Every round either converts a run or escapes one byte, so the work is linear in the input.
  thread_local std::string decoded;
  while (!bytes.empty()) {
    const std::size_t run = gbk_shaped_run(bytes);
    std::size_t consumed = 0;
    if (run > 0) {
      decoded.clear();
      consumed = convert(decoder, bytes.substr(0, run), decoded).consumed;
      append_escaped(out, decoded);
      bytes.remove_prefix(consumed);
    }
    if (consumed < run || run == 0) {  // a byte iconv refused, or one that is not GBK at all
      append_byte_escape(out, static_cast<unsigned char>(bytes.front()));
      bytes.remove_prefix(1);
    }
  }
}

DecodeWork decode_work_of_this_thread() {
  return work_of_this_thread;
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
