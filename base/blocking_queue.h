#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace base {

// A FIFO queue between threads with the semantics of Python's queue.Queue, plus close(): bounded
// (max_size; 0 = unbounded), put/get that block, variants with a timeout, non-blocking
// try_put/try_get.
//
// close() is how a pipeline ends without losing anything: producers are refused from then on (and
// blocked ones are woken and refused), while consumers still get every item already queued and
// only then see the end (nullopt). A pipeline fed by it can be stopped and joined, where a
// queue.Queue consumer thread is usually left running until the process dies.
//
// Puts take an rvalue and move from it only when the item is actually queued: a refused put
// (full, timed out or closed) leaves the caller's value intact, so it can be retried or counted.
//
// Threading: every method is thread-safe; any number of producers and consumers.
template <typename T>
class BlockingQueue {
 public:
  explicit BlockingQueue(std::size_t max_size = 0) : max_size_(max_size) {}
  BlockingQueue(const BlockingQueue&) = delete;
  BlockingQueue& operator=(const BlockingQueue&) = delete;

  // Waits while full. Returns false (value untouched) if the queue is or becomes closed.
  bool put(T&& value) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || has_room(); });
    return push_locked(lock, std::move(value));
  }
  bool put(const T& value) {
    T copy(value);
    return put(std::move(copy));
  }

  // Waits at most `timeout` for room. Returns false (value untouched) on timeout or when closed.
  template <typename Rep, typename Period>
  bool put_for(T&& value, std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex_);
    if (!not_full_.wait_for(lock, timeout, [&] { return closed_ || has_room(); })) return false;
    return push_locked(lock, std::move(value));
  }

  // Never waits. Returns false (value untouched) when full or closed.
  bool try_put(T&& value) {
    std::unique_lock lock(mutex_);
    if (!has_room()) return false;
    return push_locked(lock, std::move(value));
  }

  // Waits for an item. nullopt only once the queue is closed and empty: the consumer is done.
  std::optional<T> get() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    return pop_locked(lock);
  }

  // Waits at most `timeout`. nullopt on timeout, or when closed and empty (see closed()).
  template <typename Rep, typename Period>
  std::optional<T> get_for(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex_);
    not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
    return pop_locked(lock);
  }

  // Never waits. nullopt when empty.
  std::optional<T> try_get() {
    std::unique_lock lock(mutex_);
    return pop_locked(lock);
  }

  // Never waits: moves up to `max` queued items to the end of `out` under one lock (a batching
  // consumer takes everything that piled up at once). Returns how many were moved.
  std::size_t try_get_many(std::vector<T>& out, std::size_t max) {
    std::unique_lock lock(mutex_);
    std::size_t moved = 0;
    while (moved < max && !items_.empty()) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
      ++moved;
    }
    lock.unlock();
    if (moved > 0) not_full_.notify_all();
    return moved;
  }

  // Refuses producers from now on and wakes every waiter. Idempotent.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  bool empty() const { return size() == 0; }
  bool full() const {
    std::lock_guard lock(mutex_);
    return !has_room();
  }
  std::size_t max_size() const { return max_size_; }

 private:
  bool has_room() const { return max_size_ == 0 || items_.size() < max_size_; }

  bool push_locked(std::unique_lock<std::mutex>& lock, T&& value) {
    if (closed_) return false;
    items_.push_back(std::move(value));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> pop_locked(std::unique_lock<std::mutex>& lock) {
    if (items_.empty()) return std::nullopt;
    std::optional<T> value(std::move(items_.front()));
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return value;
  }

  const std::size_t max_size_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace base
