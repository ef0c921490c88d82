#include <doctest/doctest.h>

#include <string>

#include "chat/text_escape.h"
#include "tests/support/text_checks.h"

using chat::decode_text;
using chat::Encoding;
using chat::escape_text;
using testing_support::has_no_control_characters;

TEST_CASE("escaping: printable ASCII and Chinese stay readable") {
  CHECK(escape_text("hello, world") == "hello, world");
  CHECK(escape_text("你好，世界") == "你好，世界");
  CHECK(escape_text("") == "");
}

TEST_CASE("escaping: terminal escape sequences cannot reach the terminal") {
  const std::string hostile[] = {
      "\x1b[31mred\x1b[0m",          // colours
      "\x1b[2J\x1b[H",               // clear screen, cursor home
      "\x1b]0;owned\x07",            // window title
      "\x1b[6n",                     // cursor position query (answers go to stdin!)
      "\x1b]52;c;ZXZpbA==\x07",      // clipboard write
      "\xc2\x9b" "31m",              // C1 CSI
      "\x9b" "31m",                  // raw C1 byte (invalid UTF-8)
  };
  for (const auto& text : hostile) {
    const auto escaped = escape_text(text);
    CAPTURE(escaped);
    CHECK(has_no_control_characters(escaped));
  }
  CHECK(escape_text("\x1b[31mred") == "\\x1b[31mred");
  CHECK(escape_text("\xc2\x9b") == "\\xc2\\x9b");
}

TEST_CASE("escaping: \\r tricks and newlines cannot forge log or terminal lines") {
  CHECK(escape_text("ok\rFAKE") == "ok\\rFAKE");
  const auto forged = escape_text("hi\n2026-11-22T10:15:30.123+08:00 <<<(10.0.0.1, 7890):fake");
  CHECK(forged.find('\n') == std::string::npos);
  CHECK(forged == "hi\\n2026-11-22T10:15:30.123+08:00 <<<(10.0.0.1, 7890):fake");
  CHECK(escape_text("a\r\n>>>(1.2.3.4, 5):x") == "a\\r\\n>>>(1.2.3.4, 5):x");
  CHECK(escape_text("tab\there") == "tab\\there");
  CHECK(escape_text("back\\slash") == "back\\\\slash");  // so \x41 typed by a peer stays distinct
  CHECK(escape_text("\\x41") != escape_text("A"));
}

TEST_CASE("escaping: NUL, DEL, invalid and truncated UTF-8 become \\xNN") {
  CHECK(escape_text(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(escape_text("\x7f") == "\\x7f");
  CHECK(escape_text("\xff\xfe") == "\\xff\\xfe");
  CHECK(escape_text("\xe4\xbd") == "\\xe4\\xbd");              // 你 cut short
  CHECK(escape_text("\xe4\xbd" "a") == "\\xe4\\xbda");
  CHECK(escape_text("\xc0\xaf") == "\\xc0\\xaf");              // overlong '/'
  CHECK(escape_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");     // surrogate
  CHECK(escape_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  CHECK(escape_text("\xe2\x80\xae" "evil") == "\\u{202e}evil");   // bidi override
}

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
