#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "chat/blocking_queue.h"
#include "chat/message_batch.h"
#include "chat/timestamp_formatter.h"

namespace chat {

// The chat log: a writer thread that takes batches of lines from a bounded FIFO queue and appends
// them to a file, each line prefixed with its timestamp ("2026-11-22T10:15:30.123+08:00 ").
//
// Unlike the seed, the file is opened once (O_APPEND), everything queued at a time is written
// with one write() (a flush per batch, no stdio buffer holding lines back), and stop() drains the
// queue, then fsyncs. The queue is bounded, so a flood faster than the disk slows the producers
// (and the kernel drops datagrams, counted) instead of eating memory.
//
// A failure (unwritable path, a directory, a full disk, I/O error) is reported once on the
// `errors` stream and counted per line; the chat goes on, and the writer tries again with later
// batches, saying so when it succeeds again. A log file deleted while the chat runs is noticed
// (its link count drops to 0) and created again.
//
// Threading: add() is thread-safe (called by the sender and receiver threads); stop() and the
// destructor from the owning thread only; the counters from any thread.
class ChatLog {
 public:
  // Opens (or fails to open, reporting it) `path` and starts the writer thread. `errors` is
  // where one-line reports go (stderr in the program), prefixed with `program`.
  ChatLog(std::string path, std::string program = "udp-chat", std::FILE* errors = stderr,
          std::size_t max_queued_batches = 64);
  ~ChatLog();
  ChatLog(const ChatLog&) = delete;
  ChatLog& operator=(const ChatLog&) = delete;

  // Queues lines for the log, waiting while the queue is full. Returns false after stop().
  bool add(MessageBatch&& batch);

  // Refuses further lines, writes everything queued, fsyncs, closes, joins. Idempotent.
  void stop();

  // A cleared string from an already written batch, for the next batch to be built in (the
  // receiver's buffers go round instead of being allocated per batch); empty if none is spare.
  // Thread-safe.
  std::string spare_buffer();

  std::uint64_t logged() const { return logged_.load(); }  // lines written
  std::uint64_t failed() const { return failed_.load(); }  // lines lost to write errors

  const std::string& path() const { return path_; }

 private:
  void run();
  bool ensure_open();
  void write_out(std::string& text, std::size_t lines);
  void report(const std::string& what, int error);

  std::string path_;
  std::string program_;
  std::FILE* errors_;
  BlockingQueue<MessageBatch> queue_;
  BlockingQueue<std::string> spares_{16};
  int fd_ = -1;               // writer thread only (and the constructor, before it starts)
  bool failing_ = false;      // writer thread only: reported, not yet recovered
  bool at_line_start_ = true; // writer thread only: false after a write cut a line short
  TimestampFormatter stamps_; // writer thread only
  std::atomic<std::uint64_t> logged_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::jthread writer_;       // last: starts after everything above exists
};

}  // namespace chat
