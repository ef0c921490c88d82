#include <doctest/doctest.h>

#include <string>

#include "base/text_escape.h"
#include "chat/text_encoding.h"
#include "tests/support/text_checks.h"

using chat::Encoding;
using chat::decode_text;

using testing_support::has_no_control_characters;

TEST_CASE("encodings: names") {
  CHECK(chat::parse_encoding("utf8") == Encoding::utf8);
  CHECK(chat::parse_encoding("gbk") == Encoding::gbk);
  CHECK(chat::parse_encoding("hex") == Encoding::hex);
  CHECK_FALSE(chat::parse_encoding("latin1").has_value());
  CHECK(chat::encoding_name(Encoding::gbk) == "gbk");
}

TEST_CASE("encodings: GBK is decoded to readable UTF-8, bad GBK bytes become \\xNN") {
  const std::string nihao_gbk = "\xc4\xe3\xba\xc3";  // 你好 in GBK
  CHECK(decode_text(nihao_gbk, Encoding::gbk) == "你好");
  CHECK(decode_text("abc " + nihao_gbk + "!", Encoding::gbk) == "abc 你好!");
  CHECK(decode_text("\xc4", Encoding::gbk) == "\\xc4");                 // truncated
  CHECK(decode_text("\xc4\xe3\xc4", Encoding::gbk) == "你\\xc4");       // truncated at the end
  CHECK(decode_text("\xff" "a", Encoding::gbk) == "\\xffa");             // invalid lead byte
  CHECK(decode_text("\x1b[2J\r\n", Encoding::gbk) == "\\x1b[2J\\r\\n");  // still escaped
  CHECK(decode_text(std::string("\0", 1), Encoding::gbk) == "\\x00");
  CHECK(decode_text("a\\b", Encoding::gbk) == "a\\\\b");
  // Read as UTF-8, the same GBK bytes are invalid and shown as bytes, never raw.
  CHECK(decode_text(nihao_gbk, Encoding::utf8) == "\\xc4\\xe3\\xba\\xc3");
}

TEST_CASE("encodings: every possible two-byte input decodes to safe text") {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 7) {
      const std::string bytes{static_cast<char>(a), static_cast<char>(b)};
      for (auto encoding : {Encoding::utf8, Encoding::gbk, Encoding::hex}) {
        const auto text = decode_text(bytes, encoding);
        if (!has_no_control_characters(text)) {
          FAIL("unsafe output for bytes " << a << "," << b);
        }
      }
    }
  }
}

TEST_CASE("encodings: hex shows every byte") {
  CHECK(decode_text("Hi\n", Encoding::hex) == "48 69 0a");
  CHECK(decode_text(std::string("\0\xff", 2), Encoding::hex) == "00 ff");
  CHECK(decode_text("", Encoding::hex) == "");
}

TEST_CASE("encodings: typed UTF-8 goes on the wire as GBK with --encoding gbk") {
  CHECK(chat::encode_text("你好", Encoding::gbk) == std::string("\xc4\xe3\xba\xc3"));
  CHECK(chat::encode_text("abc", Encoding::gbk) == std::string("abc"));
  CHECK(chat::encode_text("你好", Encoding::utf8) == std::string("你好"));
  CHECK_FALSE(chat::encode_text("\xf0\x9f\x98\x80", Encoding::gbk).has_value());  // emoji
  CHECK_FALSE(chat::encode_text("\xff", Encoding::gbk).has_value());
}

TEST_CASE("encodings: GBK decoding is linear in the input, whatever the peer sends") {
  // 65,507 bytes that are never GBK: escaped without one conversion call.
  const auto before = chat::decode_work_of_this_thread();
  const auto garbage = decode_text(std::string(65507, '\xff'), Encoding::gbk);
  const auto after_garbage = chat::decode_work_of_this_thread();
  CHECK(garbage.size() == 65507 * 4);
  CHECK(after_garbage.iconv_calls - before.iconv_calls == 0);
  // GBK-shaped pairs that iconv refuses, between valid text: every byte is converted at most
  // once more than it appears, and calls stay below one per input byte.
  std::string mixed;
  for (int i = 0; i < 10000; ++i) mixed += std::string("A\x81\x20\xc4\xe3", 5);  // 你 = C4E3
  const auto decoded = decode_text(mixed, Encoding::gbk);
  const auto after_mixed = chat::decode_work_of_this_thread();
  CHECK(has_no_control_characters(decoded));
  CHECK(decoded.find("\\x81") != std::string::npos);
  CHECK(decoded.find("你") != std::string::npos);
  CHECK(after_mixed.iconv_calls - after_garbage.iconv_calls <= mixed.size());
  CHECK(after_mixed.bytes_converted - after_garbage.bytes_converted <= 2 * mixed.size());
}
