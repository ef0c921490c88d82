#pragma once

#include <string>
#include <string_view>

namespace chat {

// Where the keyboard thread's lines come from: a plain descriptor (chat::LineReader, for pipes,
// files and scripts) or a line editor on a terminal (chat::LineEditor). The Sender reads through
// this interface only, so the choice is made once, where the chat is wired together (see
// docs/design.md, "Line editing").
//
// Threading: next() and set_prompt() from the owning (keyboard) thread only; interrupt() from
// any thread to stop it.
class LineSource {
 public:
  enum class Status { line, end_of_input, interrupted, too_long };

  virtual ~LineSource() = default;

  // Waits for the next line (stored in `line`, without its end), the end of input, or
  // interrupt().
  virtual Status next(std::string& line) = 0;

  // Makes the current and every later next() return interrupted. Idempotent, never throws.
  virtual void interrupt() noexcept = 0;

  // Shows `prompt` in front of the next line the user types, on the same screen line, and
  // returns true; false when this source cannot show prompts (the caller prints it instead).
  virtual bool set_prompt(std::string_view prompt) = 0;
};

}  // namespace chat
