#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/blocking_queue.h"
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
// The file is opened once (O_APPEND), everything queued at a time is written with one write() (a
// flush per batch, no stdio buffer holding lines back), and stop() drains the queue, then
// fsyncs. The queue is bounded, so a flood faster than the disk slows the producers
// (and the kernel drops datagrams, counted) instead of eating memory.
//
// The file under the name: before each write the path is compared with the open file (device and
// inode). A log renamed away (logrotate) or deleted is let go, and the path is opened again
// (created, 0600), said once on stderr. A file whose last line was cut short (a full disk in an
// earlier run) gets a newline before the first line, so lines never merge.
//
// A failure (unwritable path, a directory, a full disk, I/O error) is reported once through the
// diagnostics sink and counted per line; the chat goes on, and the writer tries again with later
// batches, saying so when it succeeds again.
//
// Threading: add() is thread-safe (called by the sender and receiver threads); stop() and the
// destructor from the owning thread only; the counters from any thread.
class ChatLog {
 public:
  // Opens (or fails to open, reporting it) `path` and starts the writer thread. Reports go to
  // `diagnostics`.
  ChatLog(std::string path, base::Diagnostics& diagnostics, std::size_t max_queued_batches = 64);
  ~ChatLog();
  ChatLog(const ChatLog&) = delete;
  ChatLog& operator=(const ChatLog&) = delete;

  // Stamps the batch (its `time` is replaced, see "Order" above) and queues it, waiting while the
  // queue is full. Returns false after stop().
  bool add(MessageBatch&& batch);

  // Refuses further lines, writes everything queued, fsyncs, closes, joins. Idempotent.
  void stop();

  // A cleared string from an already written batch, for the next batch to be built in (the
  // receiver's buffers go round instead of being allocated per batch); empty if none is spare.
  // Thread-safe.
  std::string spare_buffer() { return spares_.take(); }

  std::uint64_t logged() const { return logged_.load(); }  // lines written
  std::uint64_t failed() const { return failed_.load(); }  // lines lost to write errors

  const std::string& path() const { return path_; }

 private:
  void run();
  bool ensure_open();
  bool open_file();
  bool still_named() const;
  bool ends_at_line_start(const struct stat& opened) const;
  void write_out(std::string& text, std::size_t lines);
  void report(const std::string& what, int error);

  std::string path_;
  base::Diagnostics& diagnostics_;
  base::BlockingQueue<MessageBatch> queue_;
  base::SpareBuffers spares_;
  // Producers: the stamp and the put happen under one lock, so queue order is stamp order.
  std::mutex add_mutex_;
  std::chrono::system_clock::time_point last_stamp_;  // guarded by add_mutex_
  int fd_ = -1;                // writer thread only (and the constructor, before it starts)
  bool failing_ = false;       // writer thread only: reported, not yet recovered
  bool at_line_start_ = true;  // writer thread only: false when the file ends inside a line
  LogLineFormatter format_;    // writer thread only
  std::atomic<std::uint64_t> logged_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::jthread writer_;  // last: starts after everything above exists
};

}  // namespace chat
