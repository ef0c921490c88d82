#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/blocking_queue.h"
#include "base/descriptor_writer.h"
#include "base/diagnostics.h"
#include "base/spare_buffers.h"
#include "chat/line_format.h"
#include "chat/message_batch.h"

namespace chat {

// The chat log: a writer thread that takes batches of lines from a bounded FIFO queue and appends
// them to a file, each line prefixed with its timestamp (chat/line_format.h).
//
// Order: add() stamps each batch as it enters the queue, under one lock, with the later of the
// clock and the previous stamp. Lines are written in queue order, so the file's times never go
// backwards, and a line queued before another happened (the receiver queues a message before the
// user can see it, so before any reply to it) is written before it.
//
// The file is opened once (O_APPEND), everything queued at a time is written at once (a flush per
// batch, no stdio buffer holding lines back), and stop() drains the queue, then fsyncs. The queue
// is bounded, so a flood faster than the disk slows the producers (and the kernel drops datagrams,
// counted) instead of eating memory.
//
// The file under the name: before each write the path is compared with the open file (device and
// inode). A log renamed away (logrotate) or deleted is let go, and the path is opened again
// (created, 0600), said once on stderr. A file whose last line was cut short (a full disk in an
// earlier run) gets a newline before the first line, so lines never merge.
//
// A failure (unwritable path, a directory, a FIFO with no reader, a full disk, I/O error) is
// reported once through the diagnostics sink and counted per line; the chat goes on, and the
// writer tries again with later batches, saying so when it succeeds again.
//
// A log that never drains (a FIFO nobody reads, a hung mount) cannot hold up a stop: writes go
// through a base::DescriptorWriter, and stop() waits at most its grace period (plus a margin for
// the writer to notice). Lines it could not write are counted in failed(), and said in one line.
// A writer stuck inside a system call is then left running, not joined (see StopOutcome).
//
// Threading: add() is thread-safe (called by the sender and receiver threads); begin_stop(),
// stop() and the destructor from the owning thread only; the counters from any thread.
class ChatLog {
 public:
  static constexpr std::chrono::milliseconds kDefaultGrace{2000};

  // How a stop ended. Threading: a plain value.
  struct StopOutcome {
    // Lines accepted but never written because the log did not drain within the grace period;
    // they are also in failed(), and were said on stderr.
    std::uint64_t not_written = 0;
    // The writer is still inside a system call (a write to a hung mount) and was not joined. Its
    // thread still uses this object: the owner must end the process (std::_Exit) rather than
    // destroy it, or leak it.
    bool writer_stuck = false;
  };

  // Opens (or fails to open, reporting it) `path` and starts the writer thread. Reports go to
  // `diagnostics`.
  ChatLog(std::string path, base::Diagnostics& diagnostics, std::size_t max_queued_batches = 64);
  // stop(). If the writer was stuck, this waits for it: see StopOutcome.
  ~ChatLog();
  ChatLog(const ChatLog&) = delete;
  ChatLog& operator=(const ChatLog&) = delete;

  // Stamps the batch (its `time` is replaced, see "Order" above) and queues it, waiting while the
  // queue is full. Once the stop's grace period is over, a full queue refuses it at once and its
  // lines are counted as not written. Returns false when refused, and after stop().
  bool add(MessageBatch&& batch);

  // Starts the stop's grace period: from its end on, the writer gives up on a descriptor that
  // takes nothing and add() no longer waits for room. Producers blocked in add() are then freed
  // even when the log never drains. Only the first call counts; stop() calls it too.
  void begin_stop(std::chrono::milliseconds grace = kDefaultGrace);

  // Refuses further lines, writes everything queued (within the grace period), fsyncs, closes,
  // joins. Idempotent: later calls return the first outcome.
  StopOutcome stop(std::chrono::milliseconds grace = kDefaultGrace);

  // A cleared string from an already written batch, for the next batch to be built in (the
  // receiver's buffers go round instead of being allocated per batch); empty if none is spare.
  // Thread-safe.
  std::string spare_buffer() { return spares_.take(); }

  std::uint64_t logged() const { return logged_.load(); }  // lines written
  // Lines not written: lost to write errors, or abandoned because the log did not drain at stop.
  std::uint64_t failed() const { return failed_.load(); }

  const std::string& path() const { return path_; }

 private:
  class CallRegion;

  void run();
  bool ensure_open();
  bool open_file();
  bool still_named() const;
  bool ends_at_line_start(const struct stat& opened) const;
  void write_out(std::string& text, std::size_t lines);
  void account(std::size_t written, std::size_t lost, bool at_stop);
  void report(const std::string& what, int error);

  std::string path_;
  base::Diagnostics& diagnostics_;
  base::BlockingQueue<MessageBatch> queue_;
  base::SpareBuffers spares_;
  base::GiveUpDeadline give_up_;  // started by begin_stop()

  // Producers: the stamp and the put happen under one lock, so queue order is stamp order.
  std::mutex add_mutex_;
  std::chrono::system_clock::time_point last_stamp_;  // guarded by add_mutex_
  std::uint64_t accepted_ = 0;                        // guarded by add_mutex_: lines queued

  // What the writer is doing, for a stop that cannot wait for ever.
  std::mutex state_mutex_;
  std::condition_variable writer_finished_;
  bool in_call_ = false;         // guarded by state_mutex_: inside calls that may never return
  bool abandoned_ = false;       // guarded by state_mutex_: stop() gave up waiting for the writer
  bool writer_done_ = false;     // guarded by state_mutex_
  std::uint64_t accounted_ = 0;  // guarded by state_mutex_: lines the writer logged or lost

  // Owning thread only.
  std::optional<std::chrono::steady_clock::time_point> stop_deadline_;
  std::optional<StopOutcome> outcome_;

  // Writer thread only (and the constructor, before it starts).
  int fd_ = -1;
  std::optional<base::DescriptorWriter> out_;  // writes to fd_
  bool failing_ = false;                       // reported, not yet recovered
  bool at_line_start_ = true;                  // false when the file ends in the middle of a line
  bool giving_up_ = false;  // the grace period ended with lines unwritten: count, do not write
  LogLineFormatter format_;

  std::atomic<std::uint64_t> logged_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> not_written_{0};  // the part of failed_ abandoned at stop
  std::jthread writer_;                        // last: starts after everything above exists
};

}  // namespace chat
