#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "base/text_escape.h"
#include "tests/support/text_checks.h"

using base::escape_text;

using testing_support::has_no_control_characters;

TEST_CASE("escaping: printable ASCII and Chinese stay readable") {
  CHECK(escape_text("hello, world") == "hello, world");
  CHECK(escape_text("你好，世界") == "你好，世界");
  CHECK(escape_text("") == "");
}

TEST_CASE("escaping: terminal escape sequences cannot reach the terminal") {
  const std::string hostile[] = {
      "\x1b[31mred\x1b[0m",      // colours
      "\x1b[2J\x1b[H",           // clear screen, cursor home
      "\x1b]0;owned\x07",        // window title
      "\x1b[6n",                 // cursor position query (answers go to stdin!)
      "\x1b]52;c;ZXZpbA==\x07",  // clipboard write
      "\xc2\x9b"
      "31m",  // C1 CSI
      "\x9b"
      "31m",  // raw C1 byte (invalid UTF-8)
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
  CHECK(forged == "hi\\n2026-11-22T10:15:30.123+08:00 \\x3c<<(10.0.0.1, 7890):fake");
  CHECK(escape_text("a\r\n>>>(1.2.3.4, 5):x") == "a\\r\\n\\x3e>>(1.2.3.4, 5):x");
  CHECK(escape_text("tab\there") == "tab\\there");
  CHECK(escape_text("back\\slash") == "back\\\\slash");  // so \x41 typed by a peer stays distinct
  CHECK(escape_text("\\x41") != escape_text("A"));
}

TEST_CASE("escaping: NUL, DEL, invalid and truncated UTF-8 become \\xNN") {
  CHECK(escape_text(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(escape_text("\x7f") == "\\x7f");
  CHECK(escape_text("\xff\xfe") == "\\xff\\xfe");
  CHECK(escape_text("\xe4\xbd") == "\\xe4\\xbd");  // 你 cut short
  CHECK(escape_text("\xe4\xbd"
                    "a") == "\\xe4\\xbda");
  CHECK(escape_text("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
  CHECK(escape_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate
  CHECK(escape_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  CHECK(escape_text("\xe2\x80\xae"
                    "evil") == "\\u{202e}evil");  // bidi override
}

TEST_CASE("quote_for_error: quoted, escaped, cut at a character boundary") {
  CHECK(base::quote_for_error("abc") == "'abc'");
  CHECK(base::quote_for_error("a\nb\x1b[2J") == "'a\\nb\\x1b[2J'");
  CHECK(base::quote_for_error(std::string(100, 'x'), 8) == "'xxxxxxxx...'");
  // "中" is three bytes: a cut after 4 bytes keeps one whole character, never half of one.
  CHECK(base::quote_for_error("中文字", 4) == "'中...'");
  CHECK(base::quote_for_error("") == "''");
}

TEST_CASE("escaping: no message carries another line's prefix, even after a terminal-wide gap") {
  // Enough spaces that a terminal wraps the forged prefix onto a line of its own.
  const auto wrapped = escape_text(std::string(300, ' ') + ">>>(10.0.0.1, 7890):forged");
  CHECK(wrapped.find(">>>(") == std::string::npos);
  CHECK(wrapped.ends_with("\\x3e>>(10.0.0.1, 7890):forged"));
  CHECK(escape_text("<<<(a>>>(b") == "\\x3c<<(a\\x3e>>(b");
  CHECK(escape_text(">>> (not a prefix) <<<") == ">>> (not a prefix) <<<");
  CHECK(escape_text(">>>>(") == ">\\x3e>>(");
}

TEST_CASE("escaping: every bidi control and default-ignorable code point is shown, not obeyed") {
  const std::pair<const char*, const char*> cases[] = {
      {"a\u061Cb", "a\\u{61c}b"},      // Arabic letter mark (bidi)
      {"a\u200Bb", "a\\u{200b}b"},     // zero-width space
      {"a\u2060b", "a\\u{2060}b"},     // word joiner
      {"a\uFEFFb", "a\\u{feff}b"},     // zero-width no-break space
      {"a\u00ADb", "a\\u{ad}b"},       // soft hyphen
      {"a\U000E0041b", "a\\u{e0041}b"},  // tag character
      {"a\u202Eb", "a\\u{202e}b"},     // right-to-left override
      {"a\u2067b", "a\\u{2067}b"},     // right-to-left isolate
      {"a\u200Db", "a\\u{200d}b"},     // a joiner between letters hides nothing only if shown
      {"a\uFE0Fb", "a\\u{fe0f}b"},     // a variation selector after a letter
  };
  for (const auto& item : cases) {
    CAPTURE(item.first);
    CHECK(escape_text(item.first) == item.second);
  }
}

TEST_CASE("escaping: emoji sequences stay readable (joiner and variation selector only there)") {
  const std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";  // 👨‍👩‍👧
  CHECK(escape_text(family) == family);
  const std::string heart = "\u2764\uFE0F";  // ❤️
  CHECK(escape_text(heart) == heart);
  const std::string keycap = "1\uFE0F\u20E3";  // 1️⃣
  CHECK(escape_text(keycap) == keycap);
  // A joiner at the end, or before a letter, is not part of an emoji sequence.
  CHECK(escape_text("\U0001F468\u200D") == "\U0001F468\\u{200d}");
  CHECK(escape_text("\U0001F468\u200Dx") == "\U0001F468\\u{200d}x");
}
