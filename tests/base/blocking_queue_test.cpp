#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "base/blocking_queue.h"

using namespace std::chrono_literals;
using base::BlockingQueue;

TEST_CASE("queue: FIFO order, size, empty, full, try variants") {
  BlockingQueue<int> queue(2);
  CHECK(queue.empty());
  CHECK(queue.max_size() == 2);
  CHECK(queue.try_put(1));
  CHECK(queue.try_put(2));
  CHECK(queue.full());
  CHECK_FALSE(queue.try_put(3));
  CHECK(queue.size() == 2);
  CHECK(queue.try_get() == 1);
  CHECK(queue.get() == 2);
  CHECK_FALSE(queue.try_get().has_value());
  CHECK(queue.empty());
}

TEST_CASE("queue: timeouts return without the item, and leave the value with the caller") {
  BlockingQueue<std::unique_ptr<int>> queue(1);
  CHECK(queue.put(std::make_unique<int>(1)));
  auto value = std::make_unique<int>(2);
  CHECK_FALSE(queue.put_for(std::move(value), 10ms));
  REQUIRE(value);  // a refused put did not move from it
  CHECK(*value == 2);
  CHECK(**queue.get_for(10ms) == 1);
  CHECK_FALSE(queue.get_for(10ms).has_value());
  CHECK(queue.put_for(std::move(value), 10ms));
  CHECK_FALSE(value);
}

TEST_CASE("queue: unbounded with max_size 0") {
  BlockingQueue<int> queue;
  for (int i = 0; i < 10000; ++i) REQUIRE(queue.try_put(int{i}));
  CHECK_FALSE(queue.full());
  std::vector<int> all;
  CHECK(queue.try_get_many(all, 20000) == 10000);
  CHECK(all.front() == 0);
  CHECK(all.back() == 9999);
}

TEST_CASE("queue: close lets consumers drain, then ends them, producers are refused") {
  BlockingQueue<int> queue(4);
  queue.put(1);
  queue.put(2);
  queue.close();
  CHECK(queue.closed());
  CHECK_FALSE(queue.put(3));
  CHECK_FALSE(queue.try_put(3));
  CHECK(queue.get() == 1);
  CHECK(queue.get() == 2);
  CHECK_FALSE(queue.get().has_value());
  CHECK_FALSE(queue.get_for(1s).has_value());
}

TEST_CASE("queue: close wakes a blocked consumer and a blocked producer") {
  BlockingQueue<int> queue(1);
  auto consumer = std::async(std::launch::async, [&] { return queue.get(); });
  queue.put(7);
  REQUIRE(consumer.wait_for(30s) == std::future_status::ready);
  CHECK(consumer.get() == 7);
  queue.put(8);
  auto producer = std::async(std::launch::async, [&] { return queue.put(9); });
  auto waiter = std::async(std::launch::async, [&] {
    BlockingQueue<int> empty;
    return empty.get_for(1ms);
  });
  queue.close();
  REQUIRE(producer.wait_for(30s) == std::future_status::ready);
  CHECK_FALSE(producer.get());
  CHECK(queue.get() == 8);
  CHECK_FALSE(queue.get().has_value());
  CHECK_FALSE(waiter.get().has_value());
}

TEST_CASE(
    "queue: many producers and consumers under contention lose and duplicate nothing, "
    "and keep each producer's order") {
  constexpr int kProducers = 6;
  constexpr int kConsumers = 5;
  constexpr int kPerProducer = 20000;
  BlockingQueue<std::pair<int, int>> queue(8);  // small: producers and consumers block a lot
  std::vector<std::vector<std::pair<int, int>>> taken(kConsumers);
  {
    std::vector<std::jthread> consumers;
    for (int c = 0; c < kConsumers; ++c) {
      consumers.emplace_back([&, c] {
        // Mix the ways of taking, to exercise each under contention.
        for (int round = 0;; ++round) {
          std::optional<std::pair<int, int>> item;
          if (round % 3 == 0) {
            item = queue.get();
            if (!item) return;
          } else if (round % 3 == 1) {
            item = queue.get_for(1ms);
            if (!item) {
              if (queue.closed() && queue.empty()) return;
              continue;
            }
          } else {
            std::vector<std::pair<int, int>> many;
            if (queue.try_get_many(many, 3) == 0) continue;
            taken[c].insert(taken[c].end(), many.begin(), many.end());
            continue;
          }
          taken[c].push_back(*item);
        }
      });
    }
    {
      std::vector<std::jthread> producers;
      for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
          for (int i = 0; i < kPerProducer; ++i) {
            if (p % 2 == 0) {
              CHECK(queue.put({p, i}));  // CHECK: REQUIRE may not throw in a thread
            } else {
              std::pair<int, int> item{p, i};
              int tries = 0;
              while (!queue.put_for(std::move(item), 1ms) && ++tries < 1'000'000) {
              }
              CHECK(tries < 1'000'000);
            }
          }
        });
      }
    }  // producers joined
    queue.close();
  }  // consumers joined
  std::vector<std::vector<int>> seen(kProducers);
  for (const auto& mine : taken) {
    std::vector<int> last(kProducers, -1);
    for (const auto& [producer, index] : mine) {
      CHECK(index > last[static_cast<std::size_t>(producer)]);  // per-producer order
      last[static_cast<std::size_t>(producer)] = index;
      seen[static_cast<std::size_t>(producer)].push_back(index);
    }
  }
  for (auto& indices : seen) {
    std::sort(indices.begin(), indices.end());
    REQUIRE(indices.size() == static_cast<std::size_t>(kPerProducer));  // nothing lost or added
    for (int i = 0; i < kPerProducer; ++i) REQUIRE(indices[static_cast<std::size_t>(i)] == i);
  }
}

TEST_CASE("queue: one consumer sees each producer's items in the order they were put") {
  BlockingQueue<std::pair<int, int>> queue(4);
  std::vector<std::pair<int, int>> got;
  {
    std::jthread consumer([&] {
      while (auto item = queue.get()) got.push_back(*item);
    });
    {
      std::vector<std::jthread> producers;
      for (int p = 0; p < 4; ++p) {
        producers.emplace_back([&, p] {
          for (int i = 0; i < 5000; ++i) queue.put({p, i});
        });
      }
    }
    queue.close();
  }
  std::vector<int> next(4, 0);
  for (const auto& [p, i] : got) {
    REQUIRE(i == next[static_cast<std::size_t>(p)]);
    ++next[static_cast<std::size_t>(p)];
  }
  CHECK(got.size() == 20000);
}
