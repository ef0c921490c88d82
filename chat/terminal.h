#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/blocking_queue.h"
#include "base/descriptor_writer.h"
#include "base/diagnostics.h"
#include "base/spare_buffers.h"

namespace chat {

// Something else that draws on the same screen as the Terminal: the line editor, whose prompt
// and half-typed line must stay below every line the chat prints (see docs/design.md, "Line
// editing").
//
// Threading: write_above() is called by the Terminal's writer thread while other threads use the
// guest; the guest serialises it with its own drawing.
class ScreenGuest {
 public:
  virtual ~ScreenGuest() = default;

  // Makes room for a chunk of complete lines above the guest's own line: hides that line, calls
  // `write` (which writes the chunk to the screen), then draws the line again below the chunk,
  // the cursor where it was. `write` does not throw.
  virtual void write_above(const std::function<void()>& write) = 0;
};

// The chat's standard output: one thread that owns the descriptor and writes whole chunks of
// lines to it, so that lines from the receiver and the sender never interleave, every line is
// out as soon as it is written (no stdio buffer), and a slow or stalled reader of stdout holds
// up only this thread.
//
// Received lines may be dropped when the reader is too slow (show(..., may_drop=true)): they are
// in the chat log, and the receiver must go on taking datagrams from the socket, or the kernel
// drops them for good. Drops are counted (not_shown()) and said once through the diagnostics
// sink. Without a log the receiver passes may_drop=false and waits instead.
//
// Writes go through a base::DescriptorWriter, which never blocks inside write(), so stop() can
// abandon a reader that never reads instead of hanging the program on exit.
//
// Threading: show() and say() are thread-safe; close(), stop() and the destructor from the
// owning thread only; counters from any thread.
class Terminal {
 public:
  // At most `max_queued_bytes` of text wait for the descriptor (a slow reader costs no more
  // memory than that).
  Terminal(int fd, base::Diagnostics& diagnostics, std::size_t max_queued_bytes = 16 * 1024 * 1024);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Queues `lines_text` (`lines` complete lines). With may_drop, never waits: a full queue drops
  // the text and counts the lines. Without, waits for room (or until close()).
  void show(std::string&& lines_text, std::size_t lines, bool may_drop);

  // A local line (prompt, help, notice): waits for room; '\n' is added. Returns false after
  // close().
  bool say(std::string_view line);

  // Refuses new text and wakes anyone waiting in show()/say(); what is queued is still written.
  void close();

  // close(), then writes what is queued, giving up on a reader that takes nothing for `grace`;
  // joins the thread. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

  // A cleared string from an already written chunk, to build the next one in; empty if none is
  // spare. Thread-safe.
  std::string spare_buffer() { return spares_.take(); }

  std::uint64_t not_shown() const { return not_shown_.load(); }

  // From now on every chunk is written through `guest` (nullptr: directly), so the guest's line
  // stays below the chat's lines. `guest` must outlive the writer thread (until stop()).
  // Thread-safe.
  void share_screen(ScreenGuest* guest) { guest_.store(guest); }

 private:
  struct Chunk {
    std::string text;
    std::size_t lines = 0;
  };

  void run();
  void dropped(std::size_t lines);

  int fd_;
  base::Diagnostics& diagnostics_;
  base::BlockingQueue<Chunk> queue_;  // unbounded in count: bytes_ bounds it
  base::SpareBuffers spares_;
  const std::size_t max_bytes_;
  std::mutex bytes_mutex_;
  std::condition_variable bytes_freed_;
  std::size_t bytes_ = 0;  // guarded by bytes_mutex_: text queued, not yet written
  bool closed_ = false;    // guarded by bytes_mutex_
  std::atomic<std::uint64_t> not_shown_{0};
  std::atomic<bool> drop_reported_{false};
  std::atomic<ScreenGuest*> guest_{nullptr};
  base::GiveUpDeadline give_up_;  // started by stop()
  std::jthread writer_;
};

}  // namespace chat
