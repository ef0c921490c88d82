#pragma once

// Checks on text the programs print or log: that nothing in it can drive a terminal or forge a
// line, and counts of lines and of a marker's occurrences.
//
// Threading: pure functions; safe from any thread.

#include <cstddef>
#include <string>

namespace testing_support {

// True if no byte is a C0 control (newline included) or DEL, and no UTF-8 character is a C1
// control (0xC2 0x80-0x9F): nothing in it drives a terminal or starts a line of a log.
bool has_no_control_characters(const std::string& text);
// Newlines in `text`.
std::size_t count_lines(const std::string& text);
// Occurrences of `needle` in `text`, overlapping ones included.
std::size_t count_occurrences(const std::string& text, const std::string& needle);

}  // namespace testing_support
