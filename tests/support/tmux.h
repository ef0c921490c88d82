#pragma once

// A terminal program tested as a person uses it: started in a tmux session of its own (a private
// tmux server on its own socket, -L NAME, with a fixed screen size), typed into with send-keys,
// read back with capture-pane. The pane stays after the program ends, so its last screen and its
// exit status can still be read. Every tmux command is bounded in time.
//
// Threading: a TmuxSession is used from the test's thread only; tmux_unavailable() is thread-safe.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace testing_support {

// Why the tmux tests cannot run here (no tmux program), or nullopt.
std::optional<std::string> tmux_unavailable();

class TmuxSession {
 public:
  // Starts `argv` (run directly, no shell) on a `columns` x `rows` screen, with `environment`
  // ("NAME=VALUE") added to tmux's. `server` names the tmux socket; it must be unique to the test.
  TmuxSession(std::string server, const std::vector<std::string>& argv,
              const std::vector<std::string>& environment, int columns = 100, int rows = 20);
  // Kills this test's tmux server (and the program, if it still runs). Never another server.
  ~TmuxSession();
  TmuxSession(const TmuxSession&) = delete;
  TmuxSession& operator=(const TmuxSession&) = delete;

  // Presses keys by tmux's names: "Left", "Home", "BSpace", "Enter", "C-c", "Up".
  void keys(const std::vector<std::string>& names);
  // Types `text` literally (UTF-8).
  void type(const std::string& text);

  // The screen as text, one line per row, trailing blanks cut.
  std::string screen();
  // The screen's rows.
  std::vector<std::string> rows();
  // The cursor's column and row (0-based).
  std::pair<int, int> cursor();
  // The program's exit status once it has ended (read from the screen: "exit status N"), else
  // nullopt.
  std::optional<int> exit_status();

  // Waits (bounded) until a row of the screen holds `needle`; true if one did.
  bool wait_for_text(const std::string& needle,
                     std::chrono::milliseconds limit = std::chrono::seconds(30));
  // Waits (bounded) until `ready` holds for the screen's rows; true if it did.
  bool wait_for(const std::function<bool(const std::vector<std::string>&)>& ready,
                std::chrono::milliseconds limit = std::chrono::seconds(30));
  // Waits (bounded) for the program to end; its exit status, or nullopt.
  std::optional<int> wait_for_exit(std::chrono::milliseconds limit = std::chrono::seconds(30));

 private:
  // Runs tmux with this session's socket and `args`; its stdout. Throws when tmux fails.
  std::string tmux(const std::vector<std::string>& args);

  std::string server_;
};

}  // namespace testing_support
