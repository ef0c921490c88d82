#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "base/blocking_queue.h"

namespace base {

// Used string buffers on their way back to whoever fills the next one (the chat receiver builds a
// batch of lines, the terminal and the log write it, the buffer comes back): a steady stream of
// batches then allocates nothing once warm. A buffer that grew past `max_capacity` is freed
// instead of kept, so one huge batch does not pin memory, and at most `max_kept` wait.
//
// Threading: thread-safe; any number of givers and takers.
class SpareBuffers {
 public:
  explicit SpareBuffers(std::size_t max_kept = 16, std::size_t max_capacity = 1024 * 1024)
      : spares_(max_kept), max_capacity_(max_capacity) {}

  // A cleared buffer with some capacity, or an empty string when none is spare. Never waits.
  std::string take() { return spares_.try_get().value_or(std::string()); }

  // Offers a used buffer back. Never waits.
  void give(std::string&& buffer) {
    if (buffer.capacity() > max_capacity_ || buffer.capacity() == 0) return;
    buffer.clear();
    spares_.try_put(std::move(buffer));
  }

 private:
  BlockingQueue<std::string> spares_;
  const std::size_t max_capacity_;
};

}  // namespace base
