#pragma once

#include <locale.h>
#include <cstdio>
#include <cwchar>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "base/diagnostics.h"
#include "base/waker.h"
#include "chat/line_source.h"
#include "chat/terminal.h"

// libedit's types, kept out of every file that includes this header.
struct editline;
struct history;

namespace chat {

// The chat's keyboard on a terminal: a line editor built on libedit's native API (histedit.h):
// cursor keys, Home/End, Ctrl-W/Ctrl-U, Backspace by display width (CJK, emoji), and a history
// on Up/Down kept across runs in a file (see docs/design.md, "Line editing").
//
// It shares the screen with the chat::Terminal (as its ScreenGuest): a line the chat prints while
// the user types appears above the prompt, and the half-typed line is drawn again below it, the
// cursor where it was. Every libedit call, from the keyboard thread or from the Terminal's
// writer, runs under one mutex; the keyboard thread lets go of it only while it waits in poll()
// for a key, so drawing never interleaves with editing.
//
// libedit runs in wide-character mode under a UTF-8 LC_CTYPE (the environment's, or C.UTF-8 when
// that is not UTF-8), set per call with uselocale() so the rest of the process keeps its locale.
// It installs no signal handlers: SIGINT stops the chat the usual way, through interrupt(), and
// the terminal's mode is restored whenever a read ends (a line, the end of input, interrupt())
// and again in the destructor.
//
// Threading: next() and set_prompt() from the owning (keyboard) thread only; interrupt() from any
// thread to stop it (async-signal-safe); write_above() from the Terminal's writer thread;
// construction and destruction by the owner while no other thread uses it.
class LineEditor final : public LineSource, public ScreenGuest {
 public:
  // True when both descriptors are terminals: only then is there a screen to edit on. Pure.
  static bool usable(int input_fd, int output_fd);

  // Where the history lives: $XDG_STATE_HOME/udp-chat/history, else
  // ~/.local/state/udp-chat/history; empty when neither can be found. Thread-safe.
  static std::string default_history_path();

  // Keeps at most `history_size` lines in `history_path` (empty: no history file). A history
  // that cannot be read or written is said once through `diagnostics`; editing goes on.
  // Throws std::runtime_error when libedit cannot be set up on these descriptors.
  LineEditor(int input_fd, int output_fd, std::string history_path, base::Diagnostics& diagnostics,
             int history_size = 1000);
  ~LineEditor() override;
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  Status next(std::string& line) override;
  void interrupt() noexcept override;
  // The prompt is shown in front of the next line only, like a prompt printed once.
  bool set_prompt(std::string_view prompt) override;
  void write_above(const std::function<void()>& write) override;

 private:
  // Called by libedit (the keyboard thread, inside el_gets) for each character.
  static int read_char(editline* editor, wchar_t* out);
  static char* prompt_of(editline* editor);
  int read_one(wchar_t* out);
  void hide_line();  // moves to the first row of the prompt and erases it and all below
  void load_history();
  void save_history();
  void history_failed(std::string_view what, int error);  // says it once

  int input_fd_;
  int output_fd_;
  std::string history_path_;
  base::Diagnostics& diagnostics_;
  base::Waker waker_;
  locale_t locale_ = nullptr;  // a UTF-8 LC_CTYPE, used per call
  std::FILE* in_ = nullptr;    // libedit's streams: duplicates of the descriptors
  std::FILE* out_ = nullptr;
  history* history_ = nullptr;
  editline* editor_ = nullptr;

  std::mutex mutex_;                              // every libedit call and the fields below
  std::unique_lock<std::mutex>* held_ = nullptr;  // the keyboard thread's lock inside el_gets
  bool active_ = false;                           // el_gets runs: the prompt line is on screen
  std::string prompt_;
  std::mbstate_t decoding_{};  // a character's first bytes, read before the rest arrived
  bool history_failed_ = false;
};

}  // namespace chat
