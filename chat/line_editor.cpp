#include "chat/line_editor.h"

#include <fcntl.h>
#include <histedit.h>
#include <langinfo.h>
#include <poll.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "base/signal_waiter.h"

namespace chat {

namespace {

// Makes libedit's calls on this thread use `locale` (a UTF-8 LC_CTYPE) and puts the thread's
// own locale back afterwards: the chat's other threads never see a changed locale.
class LocaleScope {
 public:
  explicit LocaleScope(locale_t locale) : previous_(uselocale(locale)) {}
  ~LocaleScope() { uselocale(previous_); }
  LocaleScope(const LocaleScope&) = delete;
  LocaleScope& operator=(const LocaleScope&) = delete;

 private:
  locale_t previous_;
};

bool is_utf8(locale_t locale) {
  const char* codeset = nl_langinfo_l(CODESET, locale);
  return codeset != nullptr &&
         (std::strcmp(codeset, "UTF-8") == 0 || std::strcmp(codeset, "utf8") == 0);
}

// The environment's LC_CTYPE when it is UTF-8, else C.UTF-8: a terminal that shows CJK is UTF-8
// in practice, while the environment of a service or a test often says "C".
locale_t utf8_locale() {
  if (locale_t own = newlocale(LC_CTYPE_MASK, "", static_cast<locale_t>(0))) {
    if (is_utf8(own)) return own;
    freelocale(own);
  }
  return newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
}

// Display columns of `text` (UTF-8) in the current thread's locale; a character the locale does
// not know counts one column.
std::size_t display_width(std::string_view text) {
  std::size_t columns = 0;
  std::mbstate_t state{};
  const char* at = text.data();
  const char* end = at + text.size();
  while (at < end) {
    wchar_t wide = 0;
    const std::size_t used = std::mbrtowc(&wide, at, static_cast<std::size_t>(end - at), &state);
    if (used == static_cast<std::size_t>(-1) || used == static_cast<std::size_t>(-2)) {
      state = {};
      ++at;
      ++columns;
      continue;
    }
    const int width = ::wcwidth(wide);
    columns += width < 0 ? 0 : static_cast<std::size_t>(width);
    at += used == 0 ? 1 : used;
  }
  return columns;
}

bool make_directories(const std::string& path) {
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string part = path.substr(0, slash);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) return true;
  }
}

}  // namespace

bool LineEditor::usable(int input_fd, int output_fd) {
  return ::isatty(input_fd) == 1 && ::isatty(output_fd) == 1;
}

std::string LineEditor::default_history_path() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/') {
    return std::string(state) + "/udp-chat/history";
  }
  std::string home;
  if (const char* value = std::getenv("HOME"); value != nullptr && value[0] == '/') {
    home = value;
  } else if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) {
    home = entry->pw_dir != nullptr ? entry->pw_dir : "";
  }
  if (home.empty()) return {};
  return home + "/.local/state/udp-chat/history";
}

LineEditor::LineEditor(int input_fd, int output_fd, std::string history_path,
                       base::Diagnostics& diagnostics, int history_size)
    : input_fd_(input_fd),
      output_fd_(output_fd),
      history_path_(std::move(history_path)),
      diagnostics_(diagnostics) {
  locale_ = utf8_locale();
  if (locale_ == static_cast<locale_t>(0)) throw std::runtime_error("no UTF-8 locale");
  const int in_copy = ::fcntl(input_fd, F_DUPFD_CLOEXEC, 3);
  const int out_copy = ::fcntl(output_fd, F_DUPFD_CLOEXEC, 3);
  in_ = in_copy >= 0 ? ::fdopen(in_copy, "r") : nullptr;
  out_ = out_copy >= 0 ? ::fdopen(out_copy, "w") : nullptr;
  if (in_ == nullptr || out_ == nullptr) {
    if (in_ != nullptr) std::fclose(in_);
    if (out_ != nullptr) std::fclose(out_);
    if (in_ == nullptr && in_copy >= 0) ::close(in_copy);
    if (out_ == nullptr && out_copy >= 0) ::close(out_copy);
    freelocale(locale_);
    throw std::runtime_error("cannot duplicate the terminal's descriptors");
  }
  // libedit keeps the terminal in its own mode while it waits for keys; a second Ctrl-C ends the
  // process at once, and must not leave the user's shell in that mode.
  base::SignalWaiter::restore_terminal_on_abrupt_exit(input_fd);
  LocaleScope scope(locale_);
  history_ = ::history_init();
  editor_ = ::el_init("udp-chat", in_, out_, out_);
  if (history_ == nullptr || editor_ == nullptr) {
    if (editor_ != nullptr) ::el_end(editor_);
    if (history_ != nullptr) ::history_end(history_);
    std::fclose(in_);
    std::fclose(out_);
    freelocale(locale_);
    throw std::runtime_error("libedit cannot use this terminal");
  }
  HistEvent event;
  ::history(history_, &event, H_SETSIZE, history_size);
  ::history(history_, &event, H_SETUNIQUE, 1);  // Enter on a recalled line adds no copy
  ::el_set(editor_, EL_CLIENTDATA, this);
  ::el_set(editor_, EL_EDITOR, "emacs");
  ::el_set(editor_, EL_SIGNAL, 0);  // SIGINT and SIGTERM stop the chat through interrupt()
  ::el_set(editor_, EL_HIST, ::history, history_);
  ::el_set(editor_, EL_PROMPT, &LineEditor::prompt_of);
  ::el_set(editor_, EL_GETCFN, &LineEditor::read_char);
  // Keys as in bash: Ctrl-W deletes the word before the cursor, Ctrl-U the line before it, and
  // Home/End/Delete in the forms terminals send them (libedit knows only the termcap forms).
  const char* bindings[][2] = {
      {"^W", "ed-delete-prev-word"}, {"^U", "vi-kill-line-prev"},      {"\\e[H", "ed-move-to-beg"},
      {"\\e[F", "ed-move-to-end"},   {"\\eOH", "ed-move-to-beg"},      {"\\eOF", "ed-move-to-end"},
      {"\\e[1~", "ed-move-to-beg"},  {"\\e[4~", "ed-move-to-end"},     {"\\e[7~", "ed-move-to-beg"},
      {"\\e[8~", "ed-move-to-end"},  {"\\e[3~", "ed-delete-next-char"}};
  for (const auto& binding : bindings) {
    ::el_set(editor_, EL_BIND, binding[0], binding[1], nullptr);
  }
  load_history();
}

LineEditor::~LineEditor() {
  std::lock_guard lock(mutex_);
  LocaleScope scope(locale_);
  ::el_end(editor_);  // puts the terminal's mode back if a read left it raw
  ::history_end(history_);
  std::fclose(in_);
  std::fclose(out_);
  freelocale(locale_);
}

void LineEditor::interrupt() noexcept {
  waker_.wake();
}

bool LineEditor::set_prompt(std::string_view prompt) {
  std::lock_guard lock(mutex_);
  prompt_.assign(prompt);
  return true;
}

char* LineEditor::prompt_of(editline* editor) {
  LineEditor* self = nullptr;
  ::el_get(editor, EL_CLIENTDATA, &self);
  return self->prompt_.data();
}

int LineEditor::read_char(editline* editor, wchar_t* out) {
  LineEditor* self = nullptr;
  ::el_get(editor, EL_CLIENTDATA, &self);
  return self->read_one(out);
}

int LineEditor::read_one(wchar_t* out) {
  for (;;) {
    // Waiting for a key is the one time the keyboard thread lets go of the editor: the
    // Terminal's writer may then draw lines above the prompt.
    held_->unlock();
    const short ready = base::wait_for(input_fd_, POLLIN, waker_);
    held_->lock();
    if (ready == 0) return -1;  // interrupt(): libedit ends the read and restores the terminal
    char byte = 0;
    const ssize_t got = ::read(input_fd_, &byte, 1);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return got == 0 ? 0 : -1;  // the terminal is gone: end of input
    wchar_t wide = 0;
    const std::size_t used = std::mbrtowc(&wide, &byte, 1, &decoding_);
    if (used == static_cast<std::size_t>(-2)) continue;  // more bytes of this character to come
    if (used == static_cast<std::size_t>(-1)) {
      decoding_ = {};  // not UTF-8: dropped, so the line holds only what the screen showed
      continue;
    }
    *out = wide;
    return 1;
  }
}

LineSource::Status LineEditor::next(std::string& line) {
  std::unique_lock lock(mutex_);
  if (waker_.woken()) return Status::interrupted;
  LocaleScope scope(locale_);
  held_ = &lock;
  active_ = true;
  int count = 0;
  const char* text = ::el_gets(editor_, &count);
  active_ = false;
  held_ = nullptr;
  prompt_.clear();  // shown once, like a prompt printed in front of the line
  if (waker_.woken()) {
    // The read was cut short (SIGINT): end the half-typed line, so what follows starts on a
    // line of its own.
    std::fputs("\n", out_);
    std::fflush(out_);
    return Status::interrupted;
  }
  if (text == nullptr || count <= 0) return Status::end_of_input;  // Ctrl-D on an empty line
  line.assign(text, static_cast<std::size_t>(count));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (!line.empty()) {
    HistEvent event;
    ::history(history_, &event, H_ENTER, line.c_str());
    save_history();
  }
  return Status::line;
}

void LineEditor::hide_line() {
  const LineInfo* info = ::el_line(editor_);
  std::string before = prompt_;
  if (info != nullptr && info->cursor >= info->buffer) {
    before.append(info->buffer, static_cast<std::size_t>(info->cursor - info->buffer));
  }
  winsize size{};
  const std::size_t columns =
      ::ioctl(output_fd_, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
  const std::size_t rows_up = display_width(before) / columns;
  std::string erase;
  if (rows_up > 0) erase = fmt::format("\x1b[{}A", rows_up);
  erase += "\r\x1b[J";  // to the prompt's first column, and erase it and everything below
  std::fputs(erase.c_str(), out_);
  std::fflush(out_);
}

void LineEditor::write_above(const std::function<void()>& write) {
  std::lock_guard lock(mutex_);
  if (!active_) {
    write();  // no prompt on screen: the keyboard thread is busy with the last line
    return;
  }
  LocaleScope scope(locale_);
  hide_line();
  write();
  ::el_set(editor_, EL_REFRESH);  // prompt, line and cursor drawn again below the chunk
  std::fflush(out_);
}

void LineEditor::history_failed(std::string_view what, int error) {
  if (history_failed_) return;
  history_failed_ = true;
  diagnostics_.error(fmt::format("cannot {} the history file {}: {}; the chat goes on without it",
                                 what, history_path_, std::system_category().message(error)));
}

void LineEditor::load_history() {
  if (history_path_.empty()) return;
  const int fd = ::open(history_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) history_failed("read", errno);
    return;
  }
  ::close(fd);
  HistEvent event;
  if (::history(history_, &event, H_LOAD, history_path_.c_str()) < 0) {
    history_failed("read", EINVAL);
  }
}

void LineEditor::save_history() {
  if (history_path_.empty() || history_failed_) return;
  // Written whole to a new file that then replaces the old one: a crash mid-write never leaves
  // a cut history, and the file is created private (0600) whatever the umask.
  const auto slash = history_path_.rfind('/');
  if (slash != std::string::npos && slash > 0 &&
      !make_directories(history_path_.substr(0, slash))) {
    history_failed("write", errno);
    return;
  }
  const std::string temporary = history_path_ + ".new";
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    history_failed("write", errno);
    return;
  }
  ::fchmod(fd, 0600);
  std::FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    history_failed("write", error);
    return;
  }
  HistEvent event;
  const bool saved = ::history(history_, &event, H_SAVE_FP, file) >= 0;
  const bool closed = std::fclose(file) == 0;
  const int error = errno;
  if (!saved || !closed || ::rename(temporary.c_str(), history_path_.c_str()) != 0) {
    ::unlink(temporary.c_str());
    history_failed("write", saved && closed ? errno : (error != 0 ? error : EIO));
  }
}

}  // namespace chat
