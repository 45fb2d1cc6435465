// Request queues: receiving requests and reading their bodies.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <thread>

#include "client/objects.hpp"

using httpapi::client::Clock;
using httpapi::client::QueueCore;
using httpapi::client::queue_call;
namespace ipc = httpapi::ipc;

namespace httpapi::client {

extern std::atomic<int> g_initialized;

bool QueueCore::file(const ipc::Frame& frame) {
  switch (static_cast<ipc::Type>(frame.type)) {
    case ipc::Type::request: {
      std::unique_ptr<httpapi_request> request = new_request();
      request->frame.assign(frame.encoded);
      if (!build_request(*request)) {
        broken = true;
        return false;
      }
      if (credits_outstanding > 0) credits_outstanding--;
      ready.push_back(std::move(request));
      return true;
    }
    case ipc::Type::body: {
      ipc::Body m;
      if (!ipc::decode(frame, m)) {
        broken = true;
        return false;
      }
      auto it = live.find(m.request);
      if (it == live.end()) return false;
      httpapi_request& r = *it->second;
      r.body.append(m.data);
      r.read_outstanding = false;
      if (m.flags & ipc::kBodyEnd) {
        r.body_end = true;
        r.keep_trailers(m.trailers);
      }
      if (m.flags & ipc::kBodyGone) r.gone = true;
      return false;
    }
    case ipc::Type::result: {
      ipc::Result m;
      if (!ipc::decode(frame, m)) {
        broken = true;
        return false;
      }
      results[m.call] = {m.status, std::string(m.detail), m.value};
      return false;
    }
    case ipc::Type::request_gone: {
      auto it = live.find(frame.tag);
      if (it != live.end()) it->second->gone = true;
      for (auto& queued : ready) {
        if (queued->info.request_id == frame.tag) queued->gone = true;
      }
      return false;
    }
    case ipc::Type::queue_shutdown:
      end_receiving();
      return false;
    default:
      broken = true;
      return false;
  }
}

std::unique_ptr<httpapi_request> QueueCore::new_request() {
  if (spare_requests.empty()) return std::make_unique<httpapi_request>();
  std::unique_ptr<httpapi_request> request = std::move(spare_requests.back());
  spare_requests.pop_back();
  return request;
}

void QueueCore::recycle(std::unique_ptr<httpapi_request> request) {
  if (spare_requests.size() >= kSpareRequests) return;
  request->reset();
  spare_requests.push_back(std::move(request));
}

void QueueCore::go_live(httpapi_request* request) {
  const std::uint64_t id = request->info.request_id;
  if (spare_live.empty()) {
    live[id] = request;
    return;
  }
  auto node = std::move(spare_live.back());
  spare_live.pop_back();
  node.key() = id;
  node.mapped() = request;
  live.insert(std::move(node));
}

void QueueCore::leave_live(std::uint64_t request_id) {
  auto node = live.extract(request_id);
  if (node && spare_live.size() < kSpareRequests) spare_live.push_back(std::move(node));
}

std::uint32_t QueueCore::wanted() const {
  // An older service (protocol 1) would answer requests taken ahead 503 if this process
  // died, so without an explicit window HTTP.sys's rule holds there.
  const std::uint32_t size = window ? window : channel.version() >= 2 ? adaptive.size() : 1;
  return std::max(size, waiting_receivers);
}

void QueueCore::ask_for_requests(std::string& frames, std::size_t held, bool urgent) {
  const std::size_t have = credits_outstanding + held;
  if (have >= wanted() || (!urgent && have * 2 > wanted())) return;
  const auto more = static_cast<std::uint32_t>(wanted() - have);
  ipc::encode(frames, ipc::Receive{more});
  credits_outstanding += more;
}

// The request being handed over still counts as held until its thread comes back to a
// receive: a window of 1 then keeps HTTP.sys's rule, and larger ones are topped up here in
// the same write as the `seen`.
bool QueueCore::claim_first() {
  const httpapi_request& first = *ready.front();
  adaptive.handed_over(first.backlog || ready.size() > 1);
  if (channel.version() < 2) return true;
  std::string& frames = outgoing;
  frames.clear();
  if (seen_counter.valid()) {
    seen_counter.add_one();
    ask_for_requests(frames, ready.size(), false);
    channel.defer(frames);
    return true;
  }
  ipc::encode(frames, ipc::Seen{first.info.request_id});
  ask_for_requests(frames, ready.size(), false);
  if (channel.write_all(frames) == HTTPAPI_OK) return true;
  go_down();
  return false;
}

bool QueueCore::flush_deferred() {
  if (channel.flush_deferred() == HTTPAPI_OK) return true;
  go_down();
  return false;
}

void QueueCore::wake_all() {
  request_arrived.notify_all();
  news.notify_all();
}

void QueueCore::interrupt_reader() {
  if (sleeping_others > 0) news.notify_all();
  if (!reader_active) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof one);
}

void QueueCore::end_receiving() {
  shut_down = true;
  queue_id = 0;
  std::string declines;
  for (const auto& request : ready) ipc::encode(declines, ipc::Decline{request->info.request_id});
  ready.clear();
  // A failed write means the connection closed: the service then answers them itself.
  if (!declines.empty()) channel.write_all(declines);
  wake_all();
}

QueueCore::QueueCore()
    : poll_fd(epoll_create1(EPOLL_CLOEXEC)),
      retry_fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      wake_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(poll_fd, EPOLL_CTL_ADD, retry_fd, &ev);
}

QueueCore::~QueueCore() {
  ::close(wake_fd);
  ::close(retry_fd);
  ::close(poll_fd);
}

httpapi_error QueueCore::connect() {
  if (httpapi_error e = channel.open(ipc::Role::queue); e != HTTPAPI_OK) return e;
  std::string frame;
  const std::uint64_t create = ++next_call;
  if (!ipc::encode(frame, ipc::CreateQueue{create, flags, name})) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  // Nothing but results can arrive before this handle asks for requests.
  std::uint64_t id = 0;
  if (httpapi_error e = channel.call(create, frame, &id); e != HTTPAPI_OK) return e;
  if (httpapi_error e = share_seen_counter(); e != HTTPAPI_OK) return e;
  if (httpapi_error e = channel.share_ring(); e != HTTPAPI_OK) return e;
  if (httpapi_error e = channel.share_library_ring(); e != HTTPAPI_OK) return e;
  for (const auto& [property, value] : properties) {
    frame.clear();
    ipc::encode(frame, ipc::QueueProperty{++next_call, property, value});
    if (httpapi_error e = channel.call(next_call, frame, nullptr); e != HTTPAPI_OK) return e;
  }
  for (const auto& [kind, principal] : grants) {
    frame.clear();
    ipc::encode(frame, ipc::QueueAllow{++next_call, kind, principal});
    if (httpapi_error e = channel.call(next_call, frame, nullptr); e != HTTPAPI_OK) return e;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(poll_fd, EPOLL_CTL_ADD, channel.fd(), &ev);
  queue_id = id;
  generation++;
  return HTTPAPI_OK;
}

httpapi_error QueueCore::share_seen_counter() {
  seen_counter = {};
  if (channel.version() < 3) return HTTPAPI_OK;
  int fd = -1;
  std::string why;
  ipc::SeenCounter counter = ipc::SeenCounter::create(fd, why);
  if (!counter.valid()) return HTTPAPI_OK;  // `seen` frames do the same, a write each
  std::string frame;
  ipc::encode(frame, ipc::SeenCounterFrame{});
  const int descriptors[] = {fd};
  const httpapi_error e = channel.write_all(frame, descriptors);
  ::close(fd);
  if (e == HTTPAPI_OK) seen_counter = std::move(counter);
  return e;
}

// The requests handed over on the lost connection cannot be answered any more; everything
// else this handle did is made again by try_revive once the service is back.
void QueueCore::go_down() {
  // A thread reading the socket right now will see it closed and come here itself; the
  // socket must not be closed under it.
  if (down || reader_active) return;
  down = true;
  queue_id = 0;
  if (channel.fd() >= 0) epoll_ctl(poll_fd, EPOLL_CTL_DEL, channel.fd(), nullptr);
  channel.reset();
  for (auto& [id, request] : live) request->gone = true;
  ready.clear();
  credits_outstanding = 0;
  for (std::uint64_t call : pending_calls) {
    results[call] = {HTTPAPI_ERROR_SERVICE_UNAVAILABLE, "the service went away"};
  }
  backoff_ms = 50;
  next_attempt = Clock::now() + std::chrono::milliseconds(backoff_ms);
  itimerspec when{};
  when.it_value.tv_nsec = static_cast<long>(backoff_ms) * 1000000;
  timerfd_settime(retry_fd, 0, &when, nullptr);
  wake_all();
}

bool QueueCore::try_revive() {
  if (Clock::now() < next_attempt) return false;
  std::uint64_t expirations;
  while (::read(retry_fd, &expirations, sizeof expirations) > 0) {
  }
  if (connect() == HTTPAPI_OK) {
    down = false;
    if (waiting_receivers > 0) {
      std::string frame;
      ask_for_requests(frame, ready.size(), true);
      if (channel.write_all(frame) != HTTPAPI_OK) go_down();
    }
    // Sessions are made again now that the service is back (they need this queue's id).
    revive_sessions();
    return !down;
  }
  channel.reset();
  backoff_ms = std::min(backoff_ms * 2, 1000u);
  next_attempt = Clock::now() + std::chrono::milliseconds(backoff_ms);
  itimerspec when{};
  when.it_value.tv_sec = backoff_ms / 1000;
  when.it_value.tv_nsec = static_cast<long>(backoff_ms % 1000) * 1000000;
  timerfd_settime(retry_fd, 0, &when, nullptr);
  return false;
}

template <typename Done>
httpapi_error QueueCore::wait(std::unique_lock<std::mutex>& lock,
                              const Clock::time_point* deadline, Waiter who, Done done) {
  // Whoever leaves while nobody reads the socket hands the reading on to one sleeper, who
  // would otherwise sleep until its deadline with the news unread.
  struct HandOn {
    QueueCore& core;
    ~HandOn() {
      if (core.reader_active) return;
      if (core.sleeping_receivers > 0) {
        core.request_arrived.notify_one();
      } else if (core.sleeping_others > 0) {
        core.news.notify_one();
      }
    }
  } hand_on{*this};
  for (;;) {
    if (done()) return HTTPAPI_OK;
    if (broken) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
    if (closed) return HTTPAPI_ERROR_SHUTDOWN;
    if (down) {
      // A shut-down queue is not made again: only its delivered requests were left.
      if (shut_down) return HTTPAPI_ERROR_SHUTDOWN;
      // The service restarts: retry with backoff until it is back or time is up.
      if (try_revive()) continue;
      if (deadline && Clock::now() >= *deadline) return HTTPAPI_ERROR_TIMEOUT;
      const Clock::time_point until =
          deadline && *deadline < next_attempt ? *deadline : next_attempt;
      lock.unlock();
      std::this_thread::sleep_until(until);
      lock.lock();
      continue;
    }
    if (reader_active) {
      const bool receiver = who == Waiter::receiver;
      std::condition_variable& condition = receiver ? request_arrived : news;
      unsigned& sleeping = receiver ? sleeping_receivers : sleeping_others;
      ++sleeping;
      bool timed_out = false;
      if (!deadline) {
        condition.wait(lock);
      } else {
        timed_out = condition.wait_until(lock, *deadline) == std::cv_status::timeout;
      }
      --sleeping;
      if (timed_out) return done() ? HTTPAPI_OK : HTTPAPI_ERROR_TIMEOUT;
      continue;
    }
    // The service must know what this process asked for before it sleeps on the answer.
    if (!flush_deferred()) continue;
    reader_active = true;
    lock.unlock();
    const httpapi_error read = channel.read_some(deadline, wake_fd);
    lock.lock();
    reader_active = false;
    unsigned requests = 0;
    bool other_news = false;
    if (read == HTTPAPI_OK) {
      ipc::Frame frame;
      bool malformed = false;
      while (!broken && channel.take_frame(frame, malformed)) {
        if (file(frame)) {
          ++requests;
        } else {
          other_news = true;
        }
      }
      if (malformed) broken = true;
    } else if (read == HTTPAPI_ERROR_SERVICE_UNAVAILABLE && !closed) {
      go_down();
    }
    if (broken) wake_all();
    // One request wakes one receiver; a reader that is a receiver takes the first itself.
    if (requests > 0 && who == Waiter::receiver && done()) --requests;
    for (unsigned i = 0; i < std::min(requests, sleeping_receivers); ++i) {
      request_arrived.notify_one();
    }
    if (other_news) news.notify_all();
    if (read == HTTPAPI_ERROR_TIMEOUT && !done()) return HTTPAPI_ERROR_TIMEOUT;
  }
}

bool QueueCore::client_left(httpapi_request& request) {
  std::unique_lock lock(mutex);
  const Clock::time_point now = Clock::now();
  wait(lock, &now, Waiter::other, [&] { return request.gone; });
  return request.gone;
}

}  // namespace httpapi::client

namespace {

Clock::time_point deadline_after(int timeout_ms) {
  return Clock::now() + std::chrono::milliseconds(timeout_ms);
}

}  // namespace

extern "C" httpapi_error httpapi_queue_create(const char* name, uint32_t flags,
                                              httpapi_queue** out) {
  if (!out) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (httpapi::client::g_initialized.load() <= 0) return HTTPAPI_ERROR_NOT_INITIALIZED;
  constexpr uint32_t known = HTTPAPI_QUEUE_FLAG_OPEN_EXISTING | HTTPAPI_QUEUE_FLAG_CONTROLLER |
                             HTTPAPI_QUEUE_FLAG_PERSISTENT;
  if ((flags & ~known) || ((flags & HTTPAPI_QUEUE_FLAG_OPEN_EXISTING) && !name)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  auto core = std::make_shared<QueueCore>();
  core->name = name ? name : "";
  core->flags = flags;
  if (httpapi_error e = core->connect(); e != HTTPAPI_OK) return e;
  auto* queue = new (std::nothrow) httpapi_queue{std::move(core)};
  if (!queue) return HTTPAPI_ERROR_NO_MEMORY;
  *out = queue;
  return HTTPAPI_OK;
}

extern "C" void httpapi_queue_close(httpapi_queue* queue) {
  if (!queue) return;
  {
    std::lock_guard lock(queue->core->mutex);
    queue->core->closed = true;
    ::shutdown(queue->core->channel.fd(), SHUT_RDWR);
    queue->core->wake_all();
  }
  delete queue;
}

extern "C" int httpapi_queue_fd(const httpapi_queue* queue) {
  return queue ? queue->core->poll_fd : -1;
}

namespace {

// Waits until a request is ready for this handle; on OK it is ready.front(), still queued,
// so that the caller may leave it there (httpapi_receive_into, buffer too small).
httpapi_error await_request(QueueCore& core, std::unique_lock<std::mutex>& lock,
                            int timeout_ms) {
  if (core.shut_down) return HTTPAPI_ERROR_SHUTDOWN;
  // Ask for one request per waiting receiver (or the window, if larger): the service hands
  // a request only to a process that asked, so the others stay available to other workers.
  // The frame waits for the next write (the hand-over's, or before a wait blocks).
  core.waiting_receivers++;
  if (!core.broken && !core.down) {
    core.outgoing.clear();
    core.ask_for_requests(core.outgoing, core.ready.size(), core.ready.empty());
    core.channel.defer(core.outgoing);
  }
  // Under load a request is usually waiting already: the clock is read only to sleep.
  Clock::time_point deadline{};
  if (timeout_ms >= 0 && core.ready.empty()) deadline = deadline_after(timeout_ms);
  const httpapi_error e =
      core.wait(lock, timeout_ms < 0 ? nullptr : &deadline, QueueCore::Waiter::receiver,
                [&] { return !core.ready.empty() || core.shut_down; });
  core.waiting_receivers--;
  if (e == HTTPAPI_ERROR_TIMEOUT && timeout_ms == 0) return HTTPAPI_ERROR_WOULD_BLOCK;
  if (e != HTTPAPI_OK) return e;
  return core.shut_down ? HTTPAPI_ERROR_SHUTDOWN : HTTPAPI_OK;
}

// Hands the first ready request to the application. Mutex held.
httpapi_request* hand_over(httpapi_queue* queue) {
  QueueCore& core = *queue->core;
  std::unique_ptr<httpapi_request> request = std::move(core.ready.front());
  core.ready.pop_front();
  request->queue = queue->core;
  core.go_live(request.get());
  return request.release();
}

}  // namespace

extern "C" httpapi_error httpapi_receive(httpapi_queue* queue, int timeout_ms,
                                         httpapi_request** out) {
  if (!queue || !out) return HTTPAPI_ERROR_INVALID_PARAMETER;
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  do {
    if (httpapi_error e = await_request(core, lock, timeout_ms); e != HTTPAPI_OK) return e;
  } while (!core.claim_first());
  *out = hand_over(queue);
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_receive_into(httpapi_queue* queue, int timeout_ms,
                                              void* buffer, size_t size, size_t* needed,
                                              httpapi_request** out) {
  const bool aligned =
      reinterpret_cast<std::uintptr_t>(buffer) % alignof(httpapi_request_info) == 0;
  if (!queue || !out || (!buffer && size > 0) || !aligned) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  do {
    if (httpapi_error e = await_request(core, lock, timeout_ms); e != HTTPAPI_OK) return e;
    const std::size_t wanted = httpapi::client::copied_size(*core.ready.front());
    if (needed) *needed = wanted;
    if (size < wanted) {
      // The request stays first in line for this handle; another thread of it may take it.
      if (core.sleeping_receivers > 0) core.request_arrived.notify_one();
      return HTTPAPI_ERROR_MORE_DATA;
    }
  } while (!core.claim_first());
  httpapi_request* request = hand_over(queue);
  request->shown = httpapi::client::copy_request(*request, buffer);
  // The caller's buffer holds the contents now; the library keeps no second copy.
  std::string().swap(request->frame);
  std::vector<httpapi_header>().swap(request->headers);
  std::vector<std::string>().swap(request->merged);
  *out = request;
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_wait_for_disconnect(httpapi_request* request, int timeout_ms) {
  if (!request) return HTTPAPI_ERROR_INVALID_PARAMETER;
  QueueCore& core = *request->queue;
  std::unique_lock lock(core.mutex);
  const Clock::time_point deadline = deadline_after(std::max(timeout_ms, 0));
  const httpapi_error e =
      core.wait(lock, timeout_ms < 0 ? nullptr : &deadline, QueueCore::Waiter::other,
                [&] { return request->gone || request->ended; });
  if (e == HTTPAPI_ERROR_TIMEOUT && timeout_ms == 0) return HTTPAPI_ERROR_WOULD_BLOCK;
  if (e != HTTPAPI_OK) return e;
  return request->gone ? HTTPAPI_OK : HTTPAPI_ERROR_INVALID_STATE;
}

extern "C" const httpapi_request_info* httpapi_request_get_info(const httpapi_request* request) {
  return request ? request->shown : nullptr;
}

extern "C" httpapi_error httpapi_read_body(httpapi_request* request, void* buffer,
                                           size_t capacity, size_t* length, int timeout_ms) {
  if (!request || !buffer || capacity == 0 || !length) return HTTPAPI_ERROR_INVALID_PARAMETER;
  QueueCore& core = *request->queue;
  std::unique_lock lock(core.mutex);
  *length = 0;
  auto has_news = [&] {
    return request->body.size() > request->body_start || request->body_end || request->gone;
  };
  if (!has_news() && !request->read_outstanding && !core.broken && !core.down) {
    std::string frame;
    const auto max = static_cast<std::uint32_t>(std::clamp<size_t>(capacity, 4096, ipc::kMaxBodyPiece));
    ipc::encode(frame, ipc::ReadBody{request->info.request_id, max});
    request->read_outstanding = true;
    if (core.channel.write_all(frame) != HTTPAPI_OK) core.go_down();
  }
  const Clock::time_point deadline = deadline_after(std::max(timeout_ms, 0));
  httpapi_error e =
      core.wait(lock, timeout_ms < 0 ? nullptr : &deadline, QueueCore::Waiter::other, has_news);
  if (e != HTTPAPI_OK) return e == HTTPAPI_ERROR_TIMEOUT && timeout_ms == 0 ? HTTPAPI_ERROR_WOULD_BLOCK : e;
  const std::size_t available = request->body.size() - request->body_start;
  if (available > 0) {
    const std::size_t n = std::min(available, capacity);
    std::memcpy(buffer, request->body.data() + request->body_start, n);
    request->body_start += n;
    if (request->body_start == request->body.size()) {
      request->body.clear();
      request->body_start = 0;
    }
    *length = n;
    return HTTPAPI_OK;
  }
  return request->gone ? HTTPAPI_ERROR_CONNECTION_GONE : HTTPAPI_ERROR_END_OF_BODY;
}

extern "C" const httpapi_header* httpapi_request_trailers(const httpapi_request* request,
                                                         size_t* count) {
  if (!count) return nullptr;
  *count = 0;
  if (!request || !request->body_end || request->body.size() > request->body_start) {
    return nullptr;
  }
  *count = request->trailers.size();
  return request->trailers.data();
}

// Results arrive among requests and bodies, so the waiting thread looks for its result in
// what the reader files.
httpapi_error httpapi::client::queue_call(QueueCore& core, std::unique_lock<std::mutex>& lock,
                                          std::uint64_t call, const std::string& frame,
                                          std::uint64_t* value, std::string* detail,
                                          std::span<const int> descriptors) {
  if (core.shut_down) return HTTPAPI_ERROR_SHUTDOWN;
  if (core.down) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  if (core.channel.write_all(frame, descriptors) != HTTPAPI_OK) {
    core.go_down();
    return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  }
  core.pending_calls.insert(call);
  const httpapi_error e = core.wait(lock, nullptr, QueueCore::Waiter::other,
                                    [&] { return core.results.count(call) > 0; });
  core.pending_calls.erase(call);
  if (e != HTTPAPI_OK) return e;
  auto result = std::move(core.results[call]);
  core.results.erase(call);
  if (value) *value = result.value;
  if (detail) {
    *detail = std::move(result.detail);
  } else {
    httpapi::client::set_error_detail(result.detail);
  }
  return static_cast<httpapi_error>(result.status);
}

extern "C" httpapi_error httpapi_queue_allow(httpapi_queue* queue, uint32_t kind, uint32_t id) {
  if (!queue || (kind != HTTPAPI_PRINCIPAL_USER && kind != HTTPAPI_PRINCIPAL_GROUP)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  const std::uint64_t call = ++core.next_call;
  std::string frame;
  ipc::encode(frame, ipc::QueueAllow{call, kind, id});
  const httpapi_error e = queue_call(core, lock, call, frame);
  if (e == HTTPAPI_OK) core.grants.emplace_back(kind, id);  // granted again after a restart
  return e;
}

extern "C" httpapi_error httpapi_flush_response_cache(httpapi_queue* queue,
                                                      const char* url_prefix, uint32_t flags,
                                                      uint64_t* removed) {
  if (!queue || !url_prefix || (flags & ~HTTPAPI_FLUSH_FLAG_RECURSIVE)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  const std::uint64_t call = ++core.next_call;
  std::string frame;
  if (!ipc::encode(frame, ipc::FlushCache{call, flags, url_prefix})) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  std::uint64_t count = 0;
  const httpapi_error e = queue_call(core, lock, call, frame, &count);
  if (removed) *removed = e == HTTPAPI_OK ? count : 0;
  return e;
}

extern "C" httpapi_error httpapi_add_fragment(httpapi_queue* queue, const char* name,
                                              const void* data, size_t length,
                                              const httpapi_cache_policy* policy) {
  const httpapi_cache_policy kept =
      policy ? *policy : httpapi_cache_policy{HTTPAPI_CACHE_USER_INVALIDATES, 0};
  const int kind = httpapi::client::raw_enum(kept.kind);
  if (!queue || !name || (length && !data) || kind <= HTTPAPI_CACHE_NONE ||
      kind > HTTPAPI_CACHE_TIME_TO_LIVE) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  const std::uint64_t call = ++core.next_call;
  std::string frame;
  const ipc::AddFragment message{call, static_cast<std::uint16_t>(kept.kind), kept.seconds, name,
                                 {static_cast<const char*>(data), length}};
  if (!ipc::encode(frame, message)) return HTTPAPI_ERROR_TOO_LARGE;
  return queue_call(core, lock, call, frame);
}

extern "C" httpapi_error httpapi_read_fragment(httpapi_queue* queue, const char* name,
                                               uint64_t offset, uint64_t length, void* buffer,
                                               size_t capacity, size_t* copied) {
  if (!queue || !name || !copied || (capacity && !buffer)) return HTTPAPI_ERROR_INVALID_PARAMETER;
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  const std::uint64_t call = ++core.next_call;
  std::string frame;
  if (!ipc::encode(frame, ipc::ReadFragment{call, offset, length, name})) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  std::string bytes;
  const httpapi_error e = queue_call(core, lock, call, frame, nullptr, &bytes);
  if (e != HTTPAPI_OK) {
    httpapi::client::set_error_detail(bytes);  // on failure the detail is the reason
    return e;
  }
  if (bytes.size() > capacity) {
    *copied = bytes.size();
    return HTTPAPI_ERROR_MORE_DATA;
  }
  if (!bytes.empty()) std::memcpy(buffer, bytes.data(), bytes.size());
  *copied = bytes.size();
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_queue_set_property(httpapi_queue* queue,
                                                   httpapi_queue_property property,
                                                   uint64_t value) {
  if (!queue) return HTTPAPI_ERROR_INVALID_PARAMETER;
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  const std::uint64_t call = ++core.next_call;
  std::string frame;
  ipc::encode(frame, ipc::QueueProperty{call, static_cast<std::uint32_t>(property), value});
  const httpapi_error e = queue_call(core, lock, call, frame);
  if (e == HTTPAPI_OK) {  // set again after a restart
    std::erase_if(core.properties, [&](const auto& p) { return p.first == property; });
    core.properties.emplace_back(property, value);
  }
  return e;
}

extern "C" httpapi_error httpapi_queue_set_receive_window(httpapi_queue* queue,
                                                         uint32_t requests) {
  if (!queue || requests > 1024) return HTTPAPI_ERROR_INVALID_PARAMETER;
  std::lock_guard lock(queue->core->mutex);
  queue->core->window = requests;
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_queue_shutdown(httpapi_queue* queue) {
  if (!queue) return HTTPAPI_ERROR_INVALID_PARAMETER;
  QueueCore& core = *queue->core;
  std::unique_lock lock(core.mutex);
  if (core.shut_down) return HTTPAPI_OK;  // the creator shut it down already
  const std::uint64_t call = ++core.next_call;
  std::string frame;
  ipc::encode(frame, ipc::ShutdownQueue{call});
  const httpapi_error e = queue_call(core, lock, call, frame);
  // The service's notice came before its result; this covers a shutdown it had done already.
  if (e == HTTPAPI_OK || e == HTTPAPI_ERROR_SHUTDOWN) {
    if (!core.shut_down) core.end_receiving();
    return HTTPAPI_OK;
  }
  return e;
}
