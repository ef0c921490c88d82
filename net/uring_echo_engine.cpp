#include "net/uring_echo_engine.h"

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <span>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "net/endpoint.h"
#include "net/error.h"

namespace net {

namespace {

using Clock = std::chrono::steady_clock;

// Per loop: entries of each ring, and the provided buffers. A buffer is held only while its
// message is being echoed, so their number bounds memory, not connections; the pages of a buffer
// never used are never resident.
constexpr unsigned kRingEntries = 4096;
constexpr unsigned kBufferCount = 256;    // a power of two, as the buffer ring requires
constexpr unsigned kBufferBytes = 65536;  // one recv at most; bulk echo moves 64 KiB per turn
constexpr int kBufferGroup = 0;

// user_data of the loop's own operations; a connection's are its address plus an Op tag (its
// alignment keeps the low bits free), which is never below kLoopOps.
enum : std::uint64_t { kAccept = 1, kWake, kTick, kPause, kIgnored, kLoopOps = 16 };
enum Op : std::uint64_t { kNone = 0, kRecv = 1, kSend = 2 };
constexpr std::uint64_t kOpMask = 7;

__kernel_timespec timespec_of(std::chrono::milliseconds span) {
  __kernel_timespec ts{};
  ts.tv_sec = span.count() / 1000;
  ts.tv_nsec = (span.count() % 1000) * 1'000'000;
  return ts;
}

}  // namespace

std::string uring_setup_failure(int error) {
  if (error == ENOSYS || error == EPERM || error == EACCES) {
    return "io_uring engine: the kernel refuses io_uring (use --engine async)";
  }
  return "io_uring engine: cannot set up a ring (use --engine async)";
}

std::chrono::milliseconds uring_idle_tick(std::chrono::milliseconds idle_timeout) {
  return std::clamp(idle_timeout / 4, std::chrono::milliseconds(10),
                    std::chrono::milliseconds(1000));
}

// One connection; lives in its loop's map from start() to release(). At most one of its
// operations is in flight (`op`); it is released only once none is, so its descriptor and this
// object never go while the kernel still uses them. Threading: its loop's thread only.
struct UringEchoEngine::Connection {
  int fd = -1;
  ConnectionInfo info;
  Op op = kNone;
  bool ending = false;     // end() was called; released once op is kNone
  bool shut_down = false;  // stop() shut it down already
  std::uint16_t buffer = 0;
  bool holds_buffer = false;
  std::uint32_t length = 0;  // bytes of the held buffer to echo
  std::uint32_t sent = 0;    // of those, written back so far
  std::uint64_t echoed = 0;
  Clock::time_point last_progress;
  SessionEnd how;
  std::uint64_t tag(Op kind) const { return reinterpret_cast<std::uintptr_t>(this) | kind; }
};

// One event loop: its ring, its provided buffers, its connections, and the inbox the first loop
// hands admitted connections through. Threading: the loop's thread, except `inbox` (under the
// engine's mutex) and `wake_fd` (written by any thread to wake it).
struct UringEchoEngine::Loop {
  io_uring ring{};
  bool ring_ready = false;
  io_uring_buf_ring* buffer_ring = nullptr;
  std::size_t buffer_ring_bytes = 0;
  std::byte* buffers = nullptr;
  int wake_fd = -1;
  std::uint64_t wake_value = 0;
  __kernel_timespec tick{};
  __kernel_timespec pause{};
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections;
  std::deque<std::uint64_t> starved;  // connections whose recv found no free buffer
  struct Pending {
    int fd;
    ConnectionInfo info;
  };
  std::vector<Pending> inbox;
  bool accepting = false;     // the first loop: an accept is in flight
  bool pause_wanted = false;  // the first loop: pause once the accept in flight ended
  bool pausing = false;       // the first loop: the pause timeout is in flight
  bool stop_seen = false;

  ~Loop() {
    if (ring_ready) io_uring_queue_exit(&ring);  // cancels what is in flight
    if (buffer_ring != nullptr) ::munmap(buffer_ring, buffer_ring_bytes);
    if (buffers != nullptr) ::munmap(buffers, std::size_t{kBufferCount} * kBufferBytes);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  // The next free SQE; submits what is queued when the queue is full.
  io_uring_sqe* sqe() {
    for (int attempt = 0; attempt < 64; ++attempt) {
      if (auto* entry = io_uring_get_sqe(&ring)) return entry;
      io_uring_submit(&ring);
    }
    throw Error(std::make_error_code(std::errc::resource_unavailable_try_again),
                "io_uring engine: submission queue full");
  }

  std::span<std::byte> buffer(std::uint16_t id) {
    return {buffers + std::size_t{id} * kBufferBytes, kBufferBytes};
  }

  void give_back(std::uint16_t id) {
    io_uring_buf_ring_add(buffer_ring, buffer(id).data(), kBufferBytes, id,
                          io_uring_buf_ring_mask(kBufferCount), 0);
    io_uring_buf_ring_advance(buffer_ring, 1);
  }

  void post_wake() {
    auto* entry = sqe();
    io_uring_prep_read(entry, wake_fd, &wake_value, sizeof(wake_value), 0);
    io_uring_sqe_set_data64(entry, kWake);
  }

  void post_tick() {
    auto* entry = sqe();
    io_uring_prep_timeout(entry, &tick, 0, 0);
    io_uring_sqe_set_data64(entry, kTick);
  }

  void cancel(std::uint64_t user_data) {
    auto* entry = sqe();
    io_uring_prep_cancel64(entry, user_data, 0);
    io_uring_sqe_set_data64(entry, kIgnored);
  }
};

UringEchoEngine::UringEchoEngine(TcpListener& listener, ServerLimits limits, ServerEvents& events,
                                 EngineOptions options)
    : listener_(listener),
      limits_(std::move(limits)),
      events_(events),
      options_(std::move(options)),
      pauses_(limits_.accept_pause) {
  const std::size_t count = std::max<std::size_t>(1, options_.threads);
  for (std::size_t i = 0; i < count; ++i) {
    auto loop = std::make_unique<Loop>();
    io_uring_params params{};
    // Completions are run when the loop enters the kernel anyway, not by interrupting it.
    params.flags = IORING_SETUP_COOP_TASKRUN;
    int result = io_uring_queue_init_params(kRingEntries, &loop->ring, &params);
    if (result == -EINVAL) {  // before Linux 5.19: no COOP_TASKRUN
      params = {};
      result = io_uring_queue_init_params(kRingEntries, &loop->ring, &params);
    }
    if (result < 0) {
      throw Error(std::error_code(-result, std::system_category()), uring_setup_failure(-result));
    }
    loop->ring_ready = true;
    loop->buffer_ring_bytes = std::size_t{kBufferCount} * sizeof(io_uring_buf);
    void* ring_memory = ::mmap(nullptr, loop->buffer_ring_bytes, PROT_READ | PROT_WRITE,
                               MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring_memory == MAP_FAILED) throw_errno("io_uring engine: buffer ring");
    loop->buffer_ring = static_cast<io_uring_buf_ring*>(ring_memory);
    io_uring_buf_ring_init(loop->buffer_ring);
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uintptr_t>(ring_memory);
    registration.ring_entries = kBufferCount;
    registration.bgid = kBufferGroup;
    result = io_uring_register_buf_ring(&loop->ring, &registration, 0);
    if (result < 0) {
      throw Error(std::error_code(-result, std::system_category()),
                  "io_uring engine: this kernel has no provided-buffer rings (Linux 5.19 has "
                  "them; use --engine async)");
    }
    // Reserved, not resident: a page becomes resident only once a recv writes into it.
    void* buffer_memory = ::mmap(nullptr, std::size_t{kBufferCount} * kBufferBytes,
                                 PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (buffer_memory == MAP_FAILED) throw_errno("io_uring engine: buffers");
    loop->buffers = static_cast<std::byte*>(buffer_memory);
    for (unsigned id = 0; id < kBufferCount; ++id) {
      io_uring_buf_ring_add(loop->buffer_ring, loop->buffer(static_cast<std::uint16_t>(id)).data(),
                            kBufferBytes, static_cast<std::uint16_t>(id),
                            io_uring_buf_ring_mask(kBufferCount), static_cast<int>(id));
    }
    io_uring_buf_ring_advance(loop->buffer_ring, kBufferCount);
    loop->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0) throw_errno("io_uring engine: eventfd");
    if (limits_.idle_timeout) {
      loop->tick = timespec_of(uring_idle_tick(
          std::chrono::duration_cast<std::chrono::milliseconds>(*limits_.idle_timeout)));
    }
    loop->pause = timespec_of(limits_.accept_pause);
    loops_.push_back(std::move(loop));
  }
}

UringEchoEngine::~UringEchoEngine() {
  stop();
}

void UringEchoEngine::run() {
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 1; i < loops_.size(); ++i) {
      threads.emplace_back([this, i] { run_loop(*loops_[i]); });
    }
    if (options_.on_running) options_.on_running();
    run_loop(*loops_[0]);
  }  // joins: each loop returns once stopped and every connection of it ended
  std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

void UringEchoEngine::run_loop(Loop& loop) noexcept {
  try {
    serve(loop);
  } catch (...) {
    fail(std::current_exception());
    // The loop's connections are dropped unreported; closing their descriptors ends them for the
    // peers, and the ring (with what is still in flight) goes with the engine.
    for (auto& entry : loop.connections) ::close(entry.second->fd);
    std::lock_guard lock(mutex_);
    for (const auto& pending : loop.inbox) ::close(pending.fd);
    active_ -= loop.connections.size() + loop.inbox.size();
    loop.connections.clear();
    loop.inbox.clear();
  }
}

void UringEchoEngine::fail(std::exception_ptr error) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (!failure_) failure_ = std::move(error);
  }
  stop();
}

void UringEchoEngine::serve(Loop& loop) {
  loop.post_wake();
  if (limits_.idle_timeout) loop.post_tick();
  if (&loop == loops_[0].get()) rearm_accept(loop);
  on_wake(loop);  // a stop() before this loop started
  while (!finished(loop)) {
    const int result = io_uring_submit_and_wait(&loop.ring, 1);
    if (result < 0 && result != -EINTR && result != -EAGAIN && result != -EBUSY) {
      throw Error(std::error_code(-result, std::system_category()),
                  "io_uring engine: io_uring_enter");
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&loop.ring, head, cqe) {
      ++seen;
      const auto data = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      const unsigned flags = cqe->flags;
      if (data < kLoopOps) {
        switch (data) {
          case kAccept:
            handle_accept(loop, res, flags);
            break;
          case kWake:
            on_wake(loop);
            if (!loop.stop_seen || !finished(loop)) loop.post_wake();
            break;
          case kTick:
            on_tick(loop);
            if (!stopping_.load()) loop.post_tick();
            break;
          case kPause:
            loop.pausing = false;
            rearm_accept(loop);
            break;
          default:
            break;
        }
        continue;
      }
      auto& connection = *reinterpret_cast<Connection*>(data & ~kOpMask);
      if ((data & kOpMask) == kRecv) {
        on_recv(loop, connection, res, flags);
      } else {
        on_send(loop, connection, res);
      }
    }
    io_uring_cq_advance(&loop.ring, seen);
  }
}

bool UringEchoEngine::finished(Loop& loop) {
  if (!loop.stop_seen || !loop.connections.empty() || loop.accepting) return false;
  std::lock_guard lock(mutex_);
  return loop.inbox.empty();
}

void UringEchoEngine::stop() noexcept {
  if (stopping_.exchange(true)) return;
  listener_.stop();
  {
    // Taken so that no admit() still adds to an inbox once the loops may see it empty for good.
    std::lock_guard lock(mutex_);
  }
  for (auto& loop : loops_) wake(*loop);
}

void UringEchoEngine::wake(Loop& loop) noexcept {
  const std::uint64_t one = 1;
  // Cannot block (non-blocking) and cannot usefully fail: a full counter already wakes the loop.
  [[maybe_unused]] const auto written = ::write(loop.wake_fd, &one, sizeof(one));
}

ServerStats UringEchoEngine::stats() const {
  std::lock_guard lock(mutex_);
  auto snapshot = stats_;
  snapshot.active = active_;
  return snapshot;
}

void UringEchoEngine::on_wake(Loop& loop) {
  std::vector<Loop::Pending> arrived;
  {
    std::lock_guard lock(mutex_);
    arrived.swap(loop.inbox);
  }
  for (auto& pending : arrived) start(loop, pending.fd, std::move(pending.info));
  if (!stopping_.load()) return;
  if (!loop.stop_seen) {
    loop.stop_seen = true;
    if (loop.accepting) loop.cancel(kAccept);
  }
  // Graceful stop: a pending recv sees eof, and the connection ends as when its peer closes.
  std::vector<Connection*> idle;
  for (auto& entry : loop.connections) {
    auto& connection = *entry.second;
    if (connection.shut_down || connection.ending) continue;
    connection.shut_down = true;
    ::shutdown(connection.fd, SHUT_RDWR);
    if (connection.op == kNone) idle.push_back(&connection);  // starved: no recv to see eof
  }
  for (auto* connection : idle)
    end(loop, *connection, {connection->echoed, "closed by peer", false});
}

void UringEchoEngine::rearm_accept(Loop& loop) {
  if (stopping_.load() || loop.accepting || loop.pausing) return;
  if (loop.pause_wanted) {
    // Wait instead of spinning: the pending connection would fail the same way at once.
    loop.pause_wanted = false;
    loop.pausing = true;
    auto* entry = loop.sqe();
    io_uring_prep_timeout(entry, &loop.pause, 0, 0);
    io_uring_sqe_set_data64(entry, kPause);
    return;
  }
  loop.accepting = true;
  auto* entry = loop.sqe();
  io_uring_prep_multishot_accept(entry, listener_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(entry, kAccept);
}

void UringEchoEngine::handle_accept(Loop& loop, int result, unsigned flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) loop.accepting = false;
  if (result >= 0) {
    if (stopping_.load()) {
      ::close(result);
    } else {
      pauses_.accepted(events_);
      admit(loop, result);
    }
  } else if (result != -ECANCELED) {  // cancelled by this loop: for a pause, or to stop
    const std::error_code error(-result, std::system_category());
    switch (classify_accept_error(error)) {
      case AcceptFailure::retry_now:
        break;
      case AcceptFailure::out_of_resources:
      case AcceptFailure::unexpected:
        pauses_.paused(error, events_);
        loop.pause_wanted = true;
        if (loop.accepting) loop.cancel(kAccept);
        break;
      case AcceptFailure::listener_broken:
        try {
          throw_error(error, "accept on", format_endpoint(listener_.local_endpoint()));
        } catch (...) {
          fail(std::current_exception());
        }
        break;
    }
  }
  if (!loop.accepting) rearm_accept(loop);
}

void UringEchoEngine::admit(Loop& loop, int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);  // the peer left already; nothing to serve or report
    return;
  }
  asio::ip::tcp::endpoint peer;
  std::memcpy(peer.data(), &address, std::min<std::size_t>(length, peer.capacity()));
  peer.resize(std::min<std::size_t>(length, peer.capacity()));
  auto refuse = [&](Refusal why) {
    ::close(fd);
    report_event([&] { events_.refused(peer, why); });
  };
  std::unique_lock lock(mutex_);
  if (const auto refusal =
          admission_refusal(limits_, peer.address(), stopping_.load(), active_, stats_)) {
    lock.unlock();
    return refuse(*refusal);
  }
  ConnectionInfo info{next_id_++, peer};
  ++active_;
  count_served(stats_, active_);
  Loop& target = *loops_[next_loop_];
  next_loop_ = (next_loop_ + 1) % loops_.size();
  if (&target == &loop) {
    lock.unlock();
    return start(loop, fd, std::move(info));
  }
  target.inbox.push_back({fd, std::move(info)});
  lock.unlock();
  wake(target);
}

void UringEchoEngine::start(Loop& loop, int fd, ConnectionInfo info) {
  auto owned = std::make_unique<Connection>();
  auto& connection = *owned;
  connection.fd = fd;
  connection.info = std::move(info);
  connection.last_progress = Clock::now();
  loop.connections.emplace(connection.info.id, std::move(owned));
  report_event([&] { events_.opened(connection.info); });
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));  // an echo is a reply
  post_recv(loop, connection);
}

void UringEchoEngine::post_recv(Loop& loop, Connection& connection) {
  connection.op = kRecv;
  auto* entry = loop.sqe();
  io_uring_prep_recv(entry, connection.fd, nullptr, kBufferBytes, 0);
  entry->flags |= IOSQE_BUFFER_SELECT;
  entry->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(entry, connection.tag(kRecv));
}

void UringEchoEngine::post_send(Loop& loop, Connection& connection) {
  connection.op = kSend;
  const auto chunk =
      loop.buffer(connection.buffer).subspan(connection.sent, connection.length - connection.sent);
  auto* entry = loop.sqe();
  io_uring_prep_send(entry, connection.fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(entry, connection.tag(kSend));
}

void UringEchoEngine::give_back(Loop& loop, Connection& connection) {
  if (!connection.holds_buffer) return;
  connection.holds_buffer = false;
  loop.give_back(connection.buffer);
  // A buffer is free again: a connection that found none may read now.
  while (!loop.starved.empty()) {
    const auto id = loop.starved.front();
    loop.starved.pop_front();
    const auto found = loop.connections.find(id);
    if (found == loop.connections.end()) continue;
    auto& waiting = *found->second;
    if (waiting.ending || waiting.op != kNone) continue;
    post_recv(loop, waiting);
    break;
  }
}

void UringEchoEngine::on_recv(Loop& loop, Connection& connection, int result, unsigned flags) {
  connection.op = kNone;
  if ((flags & IORING_CQE_F_BUFFER) != 0) {
    connection.buffer = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    connection.holds_buffer = true;
  }
  if (connection.ending) return release(loop, connection);
  if (result == -ENOBUFS) {
    // Every buffer of this loop is in flight: read once one comes back.
    loop.starved.push_back(connection.info.id);
    return;
  }
  if (result == 0) {
    // Everything read has been written back already: now the peer may see our eof too.
    give_back(loop, connection);
    ::shutdown(connection.fd, SHUT_WR);
    return end(loop, connection, {connection.echoed, "closed by peer", false});
  }
  if (result < 0) {
    return failed(loop, connection, -result);
  }
  connection.last_progress = Clock::now();
  connection.length = static_cast<std::uint32_t>(result);
  connection.sent = 0;
  if (options_.on_data) {
    const auto chunk = loop.buffer(connection.buffer).first(connection.length);
    report_event([&] { options_.on_data(connection.info, chunk); });
  }
  post_send(loop, connection);
}

// A recv or send that failed with `error` (an errno): the buffer goes back, the connection ends
// with the same words as in the other engines.
void UringEchoEngine::failed(Loop& loop, Connection& connection, int error) {
  give_back(loop, connection);
  end(loop, connection,
      {connection.echoed, failure_reason(std::error_code(error, std::system_category())), false});
}

void UringEchoEngine::on_send(Loop& loop, Connection& connection, int result) {
  connection.op = kNone;
  if (result > 0) connection.echoed += static_cast<std::uint64_t>(result);
  if (connection.ending) return release(loop, connection);
  if (result < 0) {
    return failed(loop, connection, -result);
  }
  connection.last_progress = Clock::now();
  connection.sent += static_cast<std::uint32_t>(result);
  if (connection.sent < connection.length) return post_send(loop, connection);
  // All written back: only now read more, so a peer that does not read cannot make us buffer.
  give_back(loop, connection);
  post_recv(loop, connection);
}

void UringEchoEngine::end(Loop& loop, Connection& connection, SessionEnd how) {
  connection.ending = true;
  connection.how = std::move(how);
  if (connection.op != kNone) {
    // Released when the cancelled operation completes: the kernel still uses the descriptor.
    loop.cancel(connection.tag(connection.op));
    return;
  }
  release(loop, connection);
}

void UringEchoEngine::release(Loop& loop, Connection& connection) {
  give_back(loop, connection);
  ::close(connection.fd);
  connection.how.bytes = connection.echoed;
  report_event([&] { events_.closed(connection.info, connection.how); });
  {
    std::lock_guard lock(mutex_);
    stats_.bytes += connection.how.bytes;
    if (connection.how.timed_out) ++stats_.timed_out;
    --active_;
  }
  loop.connections.erase(connection.info.id);  // destroys `connection`
}

void UringEchoEngine::on_tick(Loop& loop) {
  const auto idle = *limits_.idle_timeout;
  const auto now = Clock::now();
  std::vector<Connection*> expired;
  for (auto& entry : loop.connections) {
    auto& connection = *entry.second;
    // A send stuck on a peer that does not read makes no progress either.
    if (!connection.ending && now - connection.last_progress >= idle) {
      expired.push_back(&connection);
    }
  }
  for (auto* connection : expired) {
    end(loop, *connection, {connection->echoed, "idle timeout", true});
  }
}

std::unique_ptr<EchoEngine> make_uring_echo_engine(TcpListener& listener,
                                                   const ServerLimits& limits, ServerEvents& events,
                                                   const EngineOptions& options) {
  return std::make_unique<UringEchoEngine>(listener, limits, events, options);
}

}  // namespace net
