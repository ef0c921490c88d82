#include "chat/chat_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <system_error>

#include <fmt/format.h>

#include "base/text_escape.h"

namespace chat {

namespace {

// Everything queued is written at once, but not more than this per write, so one huge backlog
// does not need a huge buffer.
constexpr std::size_t kMaxWriteBytes = 4 * 1024 * 1024;

// How often a producer waiting for room looks whether the stop's grace period is over.
constexpr auto kRoomCheckPeriod = std::chrono::milliseconds(100);

// After the grace period, how long stop() still waits for a writer that gave up to count what is
// left and end (its descriptor writer asks whether to give up every 100 ms).
constexpr auto kWriterEndMargin = std::chrono::seconds(1);

}  // namespace

// The writer's calls that may never return (open, stat, write, fsync and close of a file on a
// hung mount) happen inside a region, so that stop() can tell a writer that is merely behind
// from one stuck in the kernel. A region is refused once stop() gave up on the writer: from then
// on it makes no call, counts nothing and says nothing (stop() has counted its lines).
class ChatLog::CallRegion {
 public:
  explicit CallRegion(ChatLog& log) : log_(log) {
    std::lock_guard lock(log_.state_mutex_);
    entered_ = !log_.abandoned_;
    log_.in_call_ = entered_;
  }
  ~CallRegion() { leave(); }
  CallRegion(const CallRegion&) = delete;
  CallRegion& operator=(const CallRegion&) = delete;

  bool entered() const { return entered_; }

  // Ends the region; true if stop() has not given up on the writer meanwhile.
  bool leave() {
    std::lock_guard lock(log_.state_mutex_);
    if (entered_) log_.in_call_ = false;
    entered_ = false;
    return !log_.abandoned_;
  }

 private:
  ChatLog& log_;
  bool entered_ = false;
};

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
  const std::size_t lines = batch.count;
  for (;;) {
    const bool late = give_up_.expired();
    const bool queued = late ? queue_.try_put(std::move(batch))
                             : queue_.put_for(std::move(batch), kRoomCheckPeriod);
    if (queued) {
      accepted_ += lines;
      return true;
    }
    if (queue_.closed()) return false;
    if (late) {
      // The grace period is over and the writer takes nothing: these lines never will be written.
      failed_ += lines;
      not_written_ += lines;
      return false;
    }
  }
}

void ChatLog::begin_stop(std::chrono::milliseconds grace) {
  if (stop_deadline_) return;
  stop_deadline_ = std::chrono::steady_clock::now() + grace;
  give_up_.start(grace);
}

ChatLog::StopOutcome ChatLog::stop(std::chrono::milliseconds grace) {
  if (outcome_) return *outcome_;
  begin_stop(grace);
  queue_.close();
  std::uint64_t accepted = 0;
  {
    // add() calls still running return at once now that the queue is closed: after this lock
    // every accepted line is in `accepted_`.
    std::lock_guard order(add_mutex_);
    accepted = accepted_;
  }
  StopOutcome outcome;
  {
    std::unique_lock lock(state_mutex_);
    if (!writer_finished_.wait_until(lock, *stop_deadline_ + kWriterEndMargin,
                                     [this] { return writer_done_; })) {
      // The log did not drain in time. What the writer has not accounted for is lost: count it
      // here, and tell the writer to make no further call and count nothing more.
      abandoned_ = true;
      const std::uint64_t left = accepted - std::min(accepted, accounted_);
      failed_ += left;
      not_written_ += left;
      outcome.writer_stuck = in_call_;
    }
  }
  // A writer that is not inside a call makes no new one once abandoned, so it ends promptly.
  if (!outcome.writer_stuck && writer_.joinable()) writer_.join();
  outcome.not_written = not_written_.load();
  if (outcome.not_written > 0) {
    report(fmt::format("{} lines not written (the log did not drain)", outcome.not_written), 0);
  }
  outcome_ = outcome;
  return outcome;
}

void ChatLog::report(const std::string& what, int error) {
  diagnostics_.print_error(
      "chat log {}: {}{}", base::escape_text(path_), what,
      error != 0 ? ": " + std::error_code(error, std::system_category()).message() : "");
}

void ChatLog::account(std::size_t written, std::size_t lost, bool at_stop) {
  std::lock_guard lock(state_mutex_);
  if (abandoned_) return;  // stop() has counted every line it had not heard of
  logged_ += written;
  failed_ += lost;
  if (at_stop) not_written_ += lost;
  accounted_ += written + lost;
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
  // never overwrite each other. O_NONBLOCK: opening a FIFO nobody reads would wait for a reader
  // for ever; it fails with ENXIO instead.
  const int fd = ::open(path_.c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
  if (fd < 0) {
    const int error = errno;
    if (!failing_) {
      if (error == ENXIO) {
        report("cannot open it: a FIFO with no reader; the chat goes on without logging", 0);
      } else {
        report("cannot open it; the chat goes on without logging", error);
      }
    }
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
  // Blocking again: the descriptor writer waits for room with poll() before each write.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  fd_ = fd;
  out_.emplace(fd_);
  at_line_start_ = ends_at_line_start(status);
  return true;
}

bool ChatLog::ensure_open() {
  if (fd_ >= 0) {
    // Renamed away (logrotate), or deleted: the lines would go where nobody reading the path
    // sees them. Start a new file under the name.
    if (still_named()) return true;
    report("the file was moved or deleted; writing to a new file under its name", 0);
    out_.reset();
    ::close(fd_);
    fd_ = -1;
  }
  return open_file();
}

void ChatLog::write_out(std::string& text, std::size_t lines) {
  if (lines == 0) return;
  if (giving_up_) {
    account(0, lines, /*at_stop=*/true);
    text.clear();
    return;
  }
  CallRegion region(*this);
  if (!region.entered()) {
    text.clear();
    return;
  }
  if (!ensure_open()) {
    if (region.leave()) account(0, lines, false);
    text.clear();
    return;
  }
  const bool finishes_cut_line = !at_line_start_;
  if (finishes_cut_line) text.insert(0, 1, '\n');
  const auto outcome = out_->write_all(text, [this] { return give_up_.expired(); });
  const std::size_t done = out_->written();
  if (!region.leave()) {
    text.clear();
    return;
  }
  // Count only lines that reached the file whole.
  std::size_t whole = 0;
  for (std::size_t at = 0; at < done;) {
    const void* newline = std::memchr(text.data() + at, '\n', done - at);
    if (newline == nullptr) break;
    ++whole;
    at = static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
  }
  if (finishes_cut_line && whole > 0) --whole;  // the first "line" finished the cut one
  // A write cut short leaves half a line: the next write starts a fresh line, so the file keeps
  // one message per line.
  if (done > 0) at_line_start_ = text[done - 1] == '\n';
  switch (outcome) {
    case base::DescriptorWriter::Outcome::written:
      account(whole, lines - whole, false);
      if (failing_) report("writing again", 0);
      failing_ = false;
      break;
    case base::DescriptorWriter::Outcome::failed:
      account(whole, lines - whole, false);
      if (!failing_) {
        report("write failed; the chat goes on, lines are counted as lost", out_->error().value());
      }
      failing_ = true;
      break;
    case base::DescriptorWriter::Outcome::gave_up:
      // The program is stopping and the reader took nothing for the grace period: what is left
      // is counted, not written.
      giving_up_ = true;
      account(whole, lines - whole, /*at_stop=*/true);
      break;
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
      // vanishes with a power cut after "summary: logged=N" would be a lie. Not once the stop
      // gave up on the writer: an fsync or close on a hung mount might never return, so the
      // descriptor is then left to the end of the process.
      CallRegion region(*this);
      if (region.entered()) {
        int error = 0;
        if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) error = errno;
        out_.reset();
        ::close(fd_);
        fd_ = -1;
        if (region.leave() && error != 0) report("fsync failed", error);
      }
    }
  } catch (const std::exception& error) {
    // Nothing may escape a thread (std::terminate); lines still queued are lost, and said so.
    report(std::string("writer stopped: ") + error.what(), 0);
    queue_.close();
    while (auto batch = queue_.try_get()) account(0, batch->count, false);
  }
  {
    std::lock_guard lock(state_mutex_);
    writer_done_ = true;
  }
  writer_finished_.notify_all();
}

}  // namespace chat
