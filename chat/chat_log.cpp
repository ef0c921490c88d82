#include "chat/chat_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <system_error>

#include "base/text_escape.h"

namespace chat {

namespace {

// Everything queued is written at once, but not more than this per write(), so one huge backlog
// does not need a huge buffer.
constexpr std::size_t kMaxWriteBytes = 4 * 1024 * 1024;

}  // namespace

ChatLog::ChatLog(std::string path, base::Diagnostics& diagnostics, std::size_t max_queued_batches)
    : path_(std::move(path)), diagnostics_(diagnostics), queue_(max_queued_batches) {
  // Opened here, before the thread starts, so an unwritable path is reported at startup.
  ensure_open();
  writer_ = std::jthread([this] { run(); });
}

ChatLog::~ChatLog() {
  stop();
}

bool ChatLog::add(MessageBatch&& batch) {
  // The stamp and the put under one lock: batches enter the queue in the order of their stamps,
  // and the clock going back (NTP) cannot make a later line look older.
  std::lock_guard order(add_mutex_);
  batch.time = std::max(std::chrono::system_clock::now(), last_stamp_);
  last_stamp_ = batch.time;
  return queue_.put(std::move(batch));
}

void ChatLog::stop() {
  queue_.close();
  if (writer_.joinable()) writer_.join();
}

void ChatLog::report(const std::string& what, int error) {
  diagnostics_.print_error(
      "chat log {}: {}{}", base::escape_text(path_), what,
      error != 0 ? ": " + std::error_code(error, std::system_category()).message() : "");
}

bool ChatLog::still_named() const {
  struct stat open_file {};
  struct stat named {};
  if (::fstat(fd_, &open_file) != 0) return true;  // cannot tell: keep the file we have
  if (::stat(path_.c_str(), &named) != 0) return errno != ENOENT && errno != ENOTDIR;
  return named.st_dev == open_file.st_dev && named.st_ino == open_file.st_ino;
}

bool ChatLog::ends_at_line_start(const struct stat& opened) const {
  if (!S_ISREG(opened.st_mode) || opened.st_size == 0) return true;
  // The descriptor we write through is write-only; read the last byte through another one, of
  // the same file.
  const int reader = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (reader < 0) return true;  // a write-only file: cannot tell, assume whole lines
  char last = '\n';
  struct stat status {};
  if (::fstat(reader, &status) == 0 && status.st_dev == opened.st_dev &&
      status.st_ino == opened.st_ino && status.st_size > 0 &&
      ::pread(reader, &last, 1, status.st_size - 1) != 1) {
    last = '\n';
  }
  ::close(reader);
  return last == '\n';
}

bool ChatLog::open_file() {
  // 0600: a chat history is private. O_APPEND: lines from another udp-chat sharing the file
  // never overwrite each other.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    if (!failing_) report("cannot open it; the chat goes on without logging", errno);
    failing_ = true;
    return false;
  }
  struct stat status {};
  if (::fstat(fd, &status) == 0 && S_ISDIR(status.st_mode)) {  // O_WRONLY refuses, but be sure
    ::close(fd);
    if (!failing_) report("is a directory; the chat goes on without logging", 0);
    failing_ = true;
    return false;
  }
  fd_ = fd;
  at_line_start_ = ends_at_line_start(status);
  return true;
}

bool ChatLog::ensure_open() {
  if (fd_ >= 0) {
    // Renamed away (logrotate), or deleted: the lines would go where nobody reading the path
    // sees them. Start a new file under the name.
    if (still_named()) return true;
    report("the file was moved or deleted; writing to a new file under its name", 0);
    ::close(fd_);
    fd_ = -1;
  }
  return open_file();
}

void ChatLog::write_out(std::string& text, std::size_t lines) {
  if (lines == 0) return;
  if (!ensure_open()) {
    failed_ += lines;
    text.clear();
    return;
  }
  if (!at_line_start_) text.insert(0, 1, '\n');  // finish the line an earlier failure cut
  std::size_t done = 0;
  int error = 0;
  while (done < text.size()) {
    const ssize_t wrote = ::write(fd_, text.data() + done, text.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    if (wrote == 0) {
      error = EIO;
      break;
    }
    done += static_cast<std::size_t>(wrote);
  }
  // Count only lines that reached the file whole.
  std::size_t whole = 0;
  for (std::size_t at = 0; at < done;) {
    const void* newline = std::memchr(text.data() + at, '\n', done - at);
    if (newline == nullptr) break;
    ++whole;
    at = static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
  }
  if (!at_line_start_ && whole > 0) --whole;  // the first "line" finished an earlier cut one
  logged_ += whole;
  if (error != 0) {
    failed_ += lines - whole;
    // A write cut short leaves half a line: the next write starts a fresh line, so the file keeps
    // one message per line.
    at_line_start_ = done == 0 ? at_line_start_ : text[done - 1] == '\n';
    if (!failing_) report("write failed; the chat goes on, lines are counted as lost", error);
    failing_ = true;
  } else {
    at_line_start_ = true;
    if (failing_) report("writing again", 0);
    failing_ = false;
  }
  text.clear();
}

void ChatLog::run() {
  try {
    std::vector<MessageBatch> batches;
    std::string text;
    std::size_t lines = 0;
    while (auto first = queue_.get()) {
      batches.push_back(std::move(*first));
      queue_.try_get_many(batches, 1024);
      for (const auto& batch : batches) {
        // A batch is at most a few hundred KiB (the receiver cuts floods into pieces).
        lines += format_.append(text, batch.time, batch.lines);
        if (text.size() >= kMaxWriteBytes) {
          write_out(text, lines);
          lines = 0;
        }
      }
      write_out(text, lines);
      lines = 0;
      for (auto& batch : batches) spares_.give(std::move(batch.lines));
      batches.clear();
    }
    if (fd_ >= 0) {
      // At stop the lines must be on disk, not just in the page cache: a chat history that
      // vanishes with a power cut after "summary: logged=N" would be a lie.
      if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) report("fsync failed", errno);
      ::close(fd_);
      fd_ = -1;
    }
  } catch (const std::exception& error) {
    // Nothing may escape a thread (std::terminate); lines still queued are lost, and said so.
    report(std::string("writer stopped: ") + error.what(), 0);
    queue_.close();
    while (auto batch = queue_.try_get()) failed_ += batch->count;
  }
}

}  // namespace chat
