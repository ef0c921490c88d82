#include "net/thread_per_connection_server.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace net {

namespace {}  // namespace

std::string_view to_string(Refusal refusal) {
  switch (refusal) {
    case Refusal::over_capacity:
      return "over the connection cap";
    case Refusal::not_allowed:
      return "not in the allow-list";
    case Refusal::no_thread:
      return "no thread available";
    case Refusal::stopping:
      return "server stopping";
  }
  return "refused";
}

bool is_allowed(const ServerLimits& limits, const asio::ip::address& address) {
  if (limits.allow.empty()) return true;
  for (const auto& block : limits.allow) {
    if (block.contains(address)) return true;
  }
  return false;
}

std::optional<Refusal> admission_refusal(const ServerLimits& limits, const asio::ip::address& peer,
                                         bool stopping, std::size_t active, ServerStats& stats) {
  if (!is_allowed(limits, peer)) {
    ++stats.denied;
    return Refusal::not_allowed;
  }
  if (stopping) return Refusal::stopping;
  if (limits.max_connections != 0 && active >= limits.max_connections) {
    ++stats.refused;
    return Refusal::over_capacity;
  }
  return std::nullopt;
}

void count_served(ServerStats& stats, std::size_t active) {
  ++stats.served;
  stats.peak_active = std::max(stats.peak_active, active);
}

namespace {
constexpr auto kQuietFlap = std::chrono::seconds(1);
}  // namespace

AcceptPauseReporter::AcceptPauseReporter(std::chrono::milliseconds accept_pause)
    : accept_pause_(accept_pause), resumed_at_(Clock::now() - kQuietFlap) {}

void AcceptPauseReporter::paused(std::error_code error, ServerEvents& events) {
  const auto now = Clock::now();
  if (!paused_) {
    paused_ = true;
    paused_since_ = now;
  }
  if (announced_ ||
      (paused_since_ - resumed_at_ < kQuietFlap && now - paused_since_ < kQuietFlap)) {
    return;
  }
  announced_ = true;
  report_event([&] {
    events.notice(
        classify_accept_error(error) == AcceptFailure::out_of_resources
            ? fmt::format("accept: {}; pausing new connections until some close", error.message())
            : fmt::format("accept: {}; pausing new connections, retrying every {} ms",
                          error.message(), accept_pause_.count()));
  });
}

void AcceptPauseReporter::accepted(ServerEvents& events) {
  if (!paused_) return;
  paused_ = false;
  resumed_at_ = Clock::now();
  if (announced_) report_event([&] { events.notice("accepting new connections again"); });
  announced_ = false;
}

std::string summary_line(const ServerStats& stats) {
  return fmt::format(
      "summary: served={} refused={} bytes={} denied={} thread_failures={} timed_out={} "
      "peak_active={}",
      stats.served, stats.refused, stats.bytes, stats.denied, stats.thread_failures,
      stats.timed_out, stats.peak_active);
}

ThreadPerConnectionServer::ThreadPerConnectionServer(TcpListener& listener, ServerLimits limits,
                                                     Handler handler, ServerEvents& events)
    : listener_(listener),
      limits_(std::move(limits)),
      handler_(std::move(handler)),
      events_(events),
      reaper_([this](std::stop_token stop) { reap(stop); }) {}

ThreadPerConnectionServer::~ThreadPerConnectionServer() {
  stop();
  join_all_sessions();  // no-op after run() returned; needed when run() threw or never ran
}

void ThreadPerConnectionServer::join_all_sessions() {
  shut_down_all_sessions();
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return sessions_.empty(); });
  }
  if (reaper_.joinable()) {
    reaper_.request_stop();  // wakes it through the stop token; it joins what is left, then ends
    reaper_.join();
  }
}

void ThreadPerConnectionServer::run() {
  // Out of descriptors, the loop pauses and retries; so it does after any accept error that
  // does not mean the listener is broken (AcceptFailure::unexpected, such as EPERM from a security
  // module), which must cost the refused connections, not the service. As connections close one
  // by one, it often takes a waiting connection and is out again at once: announcing each of
  // those flaps would print a pair of lines per close. So a pause is announced when it starts long
  // after the last resume, or once it has lasted kQuietFlap; a resume only when its pause was
  // announced (AcceptPauseReporter).
  AcceptPauseReporter pauses(limits_.accept_pause);
  while (true) {
    AcceptResult accepted = listener_.accept();
    if (accepted.stopped()) break;
    if (accepted.pause_error) {
      pauses.paused(accepted.pause_error, events_);
      // Sleep instead of spinning: poll would report the pending connection again at once.
      if (listener_.wait_for_stop(limits_.accept_pause)) break;
      continue;
    }
    pauses.accepted(events_);
    admit(std::move(*accepted.stream));
  }
  join_all_sessions();
}

void ThreadPerConnectionServer::stop() noexcept {
  listener_.stop();
  // Connections are shut down by run() when its accept loop ends; doing it here too makes stop()
  // work even while run() is busy admitting a connection.
  shut_down_all_sessions();
}

void ThreadPerConnectionServer::shut_down_all_sessions() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  // Safe: a session leaves the map (under this lock) before its stream is closed.
  for (auto& [id, session] : sessions_) session->stream.shutdown_both();
}

ServerStats ThreadPerConnectionServer::stats() const {
  std::lock_guard lock(mutex_);
  auto snapshot = stats_;
  snapshot.active = sessions_.size();
  return snapshot;
}

void ThreadPerConnectionServer::admit(TcpStream stream) {
  const auto peer = stream.remote_endpoint();
  auto refuse = [&](Refusal why) {
    stream.close();
    report_event([&] { events_.refused(peer, why); });
  };
  std::unique_lock lock(mutex_);
  if (const auto refusal =
          admission_refusal(limits_, peer.address(), stopping_, sessions_.size(), stats_)) {
    lock.unlock();
    return refuse(*refusal);
  }
  const auto id = next_id_++;
  auto owned = std::make_unique<Session>(Session{ConnectionInfo{id, peer}, std::move(stream), {}});
  Session& session = *owned;
  sessions_.emplace(id, std::move(owned));
  try {
    // Started under the lock, so the thread cannot finish and unregister before it is stored.
    session.thread = std::jthread([this, &session] { run_session(session); });
  } catch (const std::system_error& error) {
    auto node = sessions_.extract(id);
    ++stats_.thread_failures;
    const bool first = !thread_failure_reported_;
    thread_failure_reported_ = true;
    lock.unlock();
    if (first) {
      report_event([&] {
        events_.notice(
            fmt::format("cannot start a connection thread ({}); refusing connections "
                        "until threads free up",
                        error.code().message()));
      });
    }
    node.mapped()->stream.close();
    report_event([&] { events_.refused(peer, Refusal::no_thread); });
    return;
  }
  count_served(stats_, sessions_.size());
  const bool threads_recovered = thread_failure_reported_;
  thread_failure_reported_ = false;
  lock.unlock();
  if (threads_recovered) report_event([&] { events_.notice("connection threads start again"); });
}

void ThreadPerConnectionServer::run_session(Session& session) {
  SessionEnd end;
  try {
    // Said here, not by the accept thread, so a connection's open line always precedes its close.
    report_event([&] { events_.opened(session.info); });
    session.stream.set_timeout(limits_.idle_timeout);
    end = handler_(session.stream, session.info);
  } catch (const std::exception& error) {
    // A handler bug must cost one connection, not the process (an escaping exception would
    // call std::terminate).
    end.reason = fmt::format("handler failed: {}", error.what());
  } catch (...) {
    end.reason = "handler failed: unknown exception";
  }
  report_event([&] { events_.closed(session.info, end); });
  std::unique_ptr<Session> finished;
  {
    std::lock_guard lock(mutex_);
    stats_.bytes += end.bytes;
    if (end.timed_out) ++stats_.timed_out;
    auto node = sessions_.extract(session.info.id);
    finished = std::move(node.mapped());
    finished_threads_.push_back(std::move(finished->thread));
  }
  changed_.notify_all();
  finished.reset();  // closes the stream here, on its owning thread, outside the lock
}

void ThreadPerConnectionServer::reap(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, stop, [this] { return !finished_threads_.empty(); });
    if (finished_threads_.empty() && stop.stop_requested()) return;
    auto joining = std::move(finished_threads_);
    finished_threads_.clear();
    lock.unlock();
    joining.clear();  // joins: each of these threads is past its last use of the server
    lock.lock();
  }
}

}  // namespace net
