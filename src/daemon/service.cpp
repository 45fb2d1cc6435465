#include "daemon/service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "daemon/control/app_channel.hpp"
#include "daemon/front/response_part.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

constexpr std::uint32_t kOk = HTTPAPI_OK;
constexpr unsigned kHelloSeconds = 5;

unsigned usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return static_cast<unsigned>(count);
  }
  return 1;
}

bool valid_queue_name(std::string_view name) {
  if (name.size() > 255) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Service::Service(Options options) : options_(std::move(options)) {
  std::filesystem::create_directories(options_.state_dir);
  const std::string db = options_.config_db.empty() ? options_.state_dir + "/config.db"
                                                    : options_.config_db;
  config::StoreError error;
  store_ = config::ConfigStore::open(db, error);
  if (!store_) throw std::runtime_error(error.message);
  settings_ = options_.settings;
  for (const auto& [key, value] : store_->settings()) {
    std::string why;
    if (!apply_setting(settings_, key, value, why)) {
      fmt::print(stderr, "httpapid: setting '{}' in {} ignored: {}\n", key, db, why);
    }
  }
  if (const std::size_t skipped = namespace_.load(store_->reservations()); skipped > 0) {
    fmt::print(stderr, "httpapid: {} reservation(s) in {} no longer parse and are ignored\n",
               skipped, db);
  }
  error_log_ = std::make_unique<ErrorLog>(options_.state_dir + "/logs",
                                          options_.error_log_rollover_bytes);
  const unsigned threads = options_.io_threads ? options_.io_threads : usable_cpus();
  for (unsigned i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<IoWorker>(*this, i));
    workers_.back()->set_settings(settings_);
  }
  cache_.set_limits(settings_.cache);
  fragments_.set_limits(settings_.cache);
  publish_routes();
}

Service::~Service() {
  if (control_fd_ >= 0) ::close(control_fd_);
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

int Service::run() {
  setup_control_socket();
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  EventLoop& loop = workers_[0]->loop();
  loop.watch(signal_fd_, EPOLLIN, [this](std::uint32_t) { handle_signal(); });
  loop.watch(control_fd_, EPOLLIN, [this](std::uint32_t) { accept_control(); });
  loop.every_second([this] { tick(); });
  loop.on_batch_end([this] { flush_queued_channels(); });
  for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->start_thread();
  fmt::print(stderr, "httpapid {}: listening for applications on {} ({} I/O thread{})\n",
             HTTPAPI_VERSION_STRING, control_path_, workers_.size(),
             workers_.size() == 1 ? "" : "s");
  loop.run();
  for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->join();
  channels_.clear();
  ::unlink(control_path_.c_str());
  fmt::print(stderr, "httpapid: stopped\n");
  return 0;
}

void Service::setup_control_socket() {
  control_path_ = options_.state_dir + "/control.sock";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (control_path_.size() >= sizeof address.sun_path) {
    throw std::runtime_error("state directory path too long for a Unix socket: " +
                             control_path_);
  }
  std::memcpy(address.sun_path, control_path_.c_str(), control_path_.size() + 1);
  // A socket file left by a crashed service is removed; a live service is not displaced.
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    ::close(probe);
    throw std::runtime_error("another httpapid is already running on " + control_path_);
  }
  ::close(probe);
  ::unlink(control_path_.c_str());
  control_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (::bind(control_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(control_fd_, 512) != 0) {
    throw std::runtime_error(fmt::format("cannot listen on {}: {}", control_path_,
                                         std::strerror(errno)));
  }
  // Every local user may connect: what each may do is decided by its SO_PEERCRED identity.
  ::chmod(control_path_.c_str(), 0666);
  ::chmod(options_.state_dir.c_str(), 0755);
}

void Service::accept_control() {
  for (;;) {
    const int fd = ::accept4(control_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    PeerIdentity peer;
    if (!read_peer_identity(fd, peer)) {
      ::close(fd);
      continue;
    }
    const std::uint64_t id = ++next_id_;
    auto channel = std::make_unique<AppChannel>(*this, workers_[0]->loop(), fd, id, peer);
    channel->opened_at = monotonic_seconds();
    channels_[id] = std::move(channel);
  }
}

void Service::handle_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
    fmt::print(stderr, "httpapid: signal {} received, finishing in-flight responses\n",
               info.ssi_signo);
    begin_shutdown();
  }
}

void Service::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([w] { w->stop_accepting(); });
  }
}

void Service::throttle(std::uint64_t channel_id, bool on) {
  workers_[0]->loop().post([this, channel_id, on] {
    auto channel = channels_.find(channel_id);
    if (channel != channels_.end()) channel->second->pause_reading(on);
  });
}

void Service::worker_drained() {
  workers_[0]->loop().post([this] {
    if (++drained_workers_ < workers_.size()) return;
    for (auto& worker : workers_) worker->loop().stop();
  });
}

void Service::tick() {
  expire_waiting_requests();
  // A peer that connects and never completes its hello holds a slot for nothing.
  const unsigned now = monotonic_seconds();
  cache_.scavenge(now);
  fragments_.scavenge(now);
  std::vector<AppChannel*> silent;
  for (auto& [id, channel] : channels_) {
    if (!channel->greeted() && !channel->closing() && now - channel->opened_at >= kHelloSeconds) {
      silent.push_back(channel.get());
    }
  }
  for (AppChannel* channel : silent) channel->close("no valid hello within 5 seconds");
  if (stopping_ && ++shutdown_ticks_ > options_.shutdown_seconds) {
    fmt::print(stderr, "httpapid: shutdown timer expired, closing remaining connections\n");
    for (auto& worker : workers_) worker->loop().stop();
  }
}

// ---- application messages -------------------------------------------------------------

void Service::reply(AppChannel& channel, std::uint64_t call, std::uint32_t status,
                    std::uint64_t value, std::string_view detail) {
  ipc::encode(channel.output(), ipc::Result{call, status, value, detail});
  channel.flush();
}

void Service::on_frame(AppChannel& channel, const ipc::Frame& frame) {
  using ipc::Type;
  const auto type = static_cast<Type>(frame.type);
  const bool session = channel.role() == ipc::Role::session;
  if (channel.role() == ipc::Role::admin) {
    if (type == Type::admin) return on_admin(channel, frame);
  } else if (session) {
    switch (type) {
      case Type::create_group: return on_create_group(channel, frame);
      case Type::close_group: return on_close_group(channel, frame);
      case Type::add_url: return on_add_url(channel, frame);
      case Type::remove_url: return on_remove_url(channel, frame);
      case Type::bind_group: return on_bind_group(channel, frame);
      case Type::group_property: return on_group_property(channel, frame);
      default: break;
    }
  } else {
    switch (type) {
      case Type::create_queue: return on_create_queue(channel, frame);
      case Type::receive: return on_receive(channel, frame);
      case Type::read_body: return on_read_body(channel, frame);
      case Type::send_response: return on_send(channel, frame);
      case Type::send_body: return on_send(channel, frame);
      case Type::send_trailers: return on_send(channel, frame);
      case Type::cancel: return on_cancel(channel, frame);
      case Type::queue_allow: return on_queue_allow(channel, frame);
      case Type::flush_cache: return on_flush_cache(channel, frame);
      case Type::add_fragment: return on_add_fragment(channel, frame);
      case Type::read_fragment: return on_read_fragment(channel, frame);
      case Type::queue_property: return on_queue_property(channel, frame);
      case Type::shutdown_queue: return on_shutdown_queue(channel, frame);
      case Type::decline: return on_decline(channel, frame);
      case Type::seen: return on_seen(channel, frame);
      default: break;
    }
  }
  channel.close(fmt::format("message type {} is not valid on a {} connection", frame.type,
                            static_cast<int>(channel.role())));
}

Service::Group* Service::find_group(AppChannel& channel, std::uint64_t client_group) {
  auto it = channel.groups.find(client_group);
  if (it == channel.groups.end()) return nullptr;
  auto group = groups_.find(it->second);
  return group == groups_.end() ? nullptr : &group->second;
}

void Service::on_create_group(AppChannel& channel, const ipc::Frame& frame) {
  ipc::GroupCall call;
  if (!ipc::decode(frame, call)) return channel.close("malformed create_group");
  if (channel.groups.count(call.group)) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "group id in use");
  }
  const std::uint64_t id = ++next_id_;
  groups_[id] = Group{id, &channel, 0, {}};
  channel.groups[call.group] = id;
  reply(channel, call.call, kOk, id);
}

void Service::on_close_group(AppChannel& channel, const ipc::Frame& frame) {
  ipc::GroupCall call;
  if (!ipc::decode(frame, call)) return channel.close("malformed close_group");
  Group* group = find_group(channel, call.group);
  if (!group) return reply(channel, call.call, HTTPAPI_ERROR_NOT_FOUND, 0, "no such group");
  remove_group(*group);
  channel.groups.erase(call.group);
  publish_routes();
  listeners_.close_unused(table_);
  reply(channel, call.call, kOk);
}

// Points every URL of the group at `queue_id` (0: no queue, requests get 503).
void Service::route_group_to(Group& group, std::uint64_t queue_id) {
  group.queue_id = queue_id;
  for (const auto& [text, context] : group.urls) {
    route::UrlPrefix prefix;
    route::parse_url_prefix(text, prefix);
    table_.remove(text);
    table_.add(prefix, route::Target{queue_id, context, group.id});
  }
}

void Service::remove_group(Group& group) {
  for (const auto& [text, context] : group.urls) table_.remove(text);
  groups_.erase(group.id);
}

void Service::on_add_url(AppChannel& channel, const ipc::Frame& frame) {
  ipc::UrlCall call;
  if (!ipc::decode(frame, call)) return channel.close("malformed add_url");
  Group* group = find_group(channel, call.group);
  if (!group) return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "no such group");
  route::UrlPrefix prefix;
  if (auto error = route::parse_url_prefix(call.prefix, prefix);
      error != route::PrefixError::none) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 fmt::format("'{}': {}", call.prefix, route::describe(error)));
  }
  if (prefix.secure) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 "https prefixes need TLS certificate bindings, which this version lacks");
  }
  if (!namespace_.may_listen(channel.peer(), prefix)) {
    return reply(channel, call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 fmt::format("uid {} may not listen on {}: no reservation lets it (httpcfg "
                             "urlacl add --url {} --user NAME); without one, only "
                             "http://localhost:PORT/ with PORT > 1024 is open to every user",
                             channel.peer().uid, prefix.text, prefix.text));
  }
  const route::Target target{group->queue_id, call.context, group->id};
  switch (table_.add(prefix, target)) {
    case route::PrefixTable::AddResult::already_exists:
      return reply(channel, call.call, HTTPAPI_ERROR_ALREADY_EXISTS, 0,
                   fmt::format("{} is already registered", prefix.text));
    case route::PrefixTable::AddResult::scheme_conflict:
      return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                   fmt::format("port {} already carries the other scheme", prefix.port));
    case route::PrefixTable::AddResult::added: break;
  }
  std::string detail;
  if (const std::uint32_t status = listeners_.open(prefix.port, detail); status != kOk) {
    table_.remove(prefix.text);
    return reply(channel, call.call, status, 0, detail);
  }
  group->urls[prefix.text] = call.context;
  publish_routes();
  reply(channel, call.call, kOk);
}

void Service::on_remove_url(AppChannel& channel, const ipc::Frame& frame) {
  ipc::UrlCall call;
  if (!ipc::decode(frame, call)) return channel.close("malformed remove_url");
  Group* group = find_group(channel, call.group);
  route::UrlPrefix prefix;
  if (!group || route::parse_url_prefix(call.prefix, prefix) != route::PrefixError::none) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 "no such group, or malformed prefix");
  }
  if (!group->urls.erase(prefix.text)) {
    return reply(channel, call.call, HTTPAPI_ERROR_NOT_FOUND, 0,
                 fmt::format("{} is not registered in this group", prefix.text));
  }
  table_.remove(prefix.text);
  publish_routes();
  listeners_.close_unused(table_);
  reply(channel, call.call, kOk);
}

void Service::on_bind_group(AppChannel& channel, const ipc::Frame& frame) {
  ipc::BindGroup call;
  if (!ipc::decode(frame, call)) return channel.close("malformed bind_group");
  Group* group = find_group(channel, call.group);
  auto queue = queues_.find(call.queue);
  if (!group || queue == queues_.end()) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 "no such group or queue");
  }
  if (channel.peer().uid != 0 && queue->second->owner_uid() != channel.peer().uid) {
    return reply(channel, call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 "the queue belongs to another user");
  }
  route_group_to(*group, call.queue);
  publish_routes();
  reply(channel, call.call, kOk);
}

void Service::on_group_property(AppChannel& channel, const ipc::Frame& frame) {
  ipc::GroupProperty call;
  if (!ipc::decode(frame, call)) return channel.close("malformed group_property");
  Group* group = find_group(channel, call.group);
  std::string why = "no such group";
  if (!group || !group->limits->set(call.property, call.value, why)) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, why);
  }
  reply(channel, call.call, kOk);
}

void Service::on_create_queue(AppChannel& channel, const ipc::Frame& frame) {
  ipc::CreateQueue call;
  if (!ipc::decode(frame, call)) return channel.close("malformed create_queue");
  if (channel.queue_id != 0) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_STATE, 0, "handle has a queue");
  }
  if (!valid_queue_name(call.name) ||
      ((call.flags & HTTPAPI_QUEUE_FLAG_OPEN_EXISTING) && call.name.empty())) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 "queue names are 1-255 characters of A-Z a-z 0-9 . _ -");
  }
  RequestQueue* existing = nullptr;
  if (!call.name.empty()) {
    for (auto& [id, queue] : queues_) {
      if (queue->name() == call.name) existing = queue.get();
    }
  }
  if (call.flags & HTTPAPI_QUEUE_FLAG_OPEN_EXISTING) {
    if (!existing) {
      return reply(channel, call.call, HTTPAPI_ERROR_NOT_FOUND, 0,
                   fmt::format("no queue named '{}'", call.name));
    }
    if (!may_open(channel.peer(), *existing)) {
      return reply(channel, call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                   fmt::format("queue '{}' belongs to uid {} and does not allow uid {}",
                               call.name, existing->owner_uid(), channel.peer().uid));
    }
    channel.queue_id = existing->id();
    existing->handles++;
    existing->attach(&channel);
    reply(channel, call.call, kOk, existing->id());
    return dispatch(*existing);
  }
  if (existing) {
    return reply(channel, call.call, HTTPAPI_ERROR_ALREADY_EXISTS, 0,
                 fmt::format("a queue named '{}' exists", call.name));
  }
  const std::uint64_t id = ++next_id_;
  auto queue = std::make_unique<RequestQueue>(id, std::string(call.name), channel.peer().uid,
                                               call.flags, settings_.queue_length);
  queue->handles = 1;
  queue->creator_channel = channel.id();
  if (!(call.flags & HTTPAPI_QUEUE_FLAG_CONTROLLER)) queue->attach(&channel);
  channel.queue_id = id;
  queues_[id] = std::move(queue);
  reply(channel, call.call, kOk, id);
}

bool Service::may_open(const PeerIdentity& peer, const RequestQueue& queue) const {
  if (peer.is_root() || peer.uid == queue.owner_uid()) return true;
  for (std::uint32_t uid : queue.allowed_uids) {
    if (uid == peer.uid) return true;
  }
  for (std::uint32_t gid : queue.allowed_gids) {
    if (peer.in_group(gid)) return true;
  }
  return false;
}

void Service::on_queue_allow(AppChannel& channel, const ipc::Frame& frame) {
  ipc::QueueAllow call;
  if (!ipc::decode(frame, call)) return channel.close("malformed queue_allow");
  auto queue = queues_.find(channel.queue_id);
  if (queue == queues_.end() || queue->second->name().empty() ||
      (call.kind != HTTPAPI_PRINCIPAL_USER && call.kind != HTTPAPI_PRINCIPAL_GROUP)) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 "only a named queue can be opened by others; kind is user or group");
  }
  RequestQueue& q = *queue->second;
  if (q.creator_channel != channel.id()) {
    return reply(channel, call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 "only the handle that created the queue may grant access to it");
  }
  (call.kind == HTTPAPI_PRINCIPAL_USER ? q.allowed_uids : q.allowed_gids).push_back(call.id);
  reply(channel, call.call, kOk);
}

void Service::on_queue_property(AppChannel& channel, const ipc::Frame& frame) {
  ipc::QueueProperty call;
  if (!ipc::decode(frame, call)) return channel.close("malformed queue_property");
  auto queue = queues_.find(channel.queue_id);
  if (queue == queues_.end()) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "no queue");
  }
  RequestQueue& q = *queue->second;
  if (q.creator_channel != channel.id()) {
    return reply(channel, call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 "only the handle that created the queue may set its properties");
  }
  switch (call.property) {
    case HTTPAPI_QUEUE_LENGTH:
      if (call.value < 1 || call.value > 65535) break;
      q.set_capacity(static_cast<std::size_t>(call.value));
      return reply(channel, call.call, kOk);
    case HTTPAPI_QUEUE_STATE:
      if (call.value > HTTPAPI_QUEUE_ACTIVE) break;
      q.active = call.value == HTTPAPI_QUEUE_ACTIVE;
      if (q.active) dispatch(q);
      return reply(channel, call.call, kOk);
    case HTTPAPI_QUEUE_VERBOSITY:
      if (call.value > HTTPAPI_503_FULL) break;
      q.verbosity = static_cast<std::uint32_t>(call.value);
      publish_route_table();  // the front end refuses with it (route::Target)
      return reply(channel, call.call, kOk);
    default:
      break;
  }
  reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
        fmt::format("property {} does not take the value {}", call.property, call.value));
}

// HttpShutdownRequestQueue, for every handle of the queue at once (docs/queues.md). Each
// handle hears of it before the caller's result, so no receive outlives the call.
void Service::on_shutdown_queue(AppChannel& channel, const ipc::Frame& frame) {
  ipc::ShutdownQueue call;
  if (!ipc::decode(frame, call)) return channel.close("malformed shutdown_queue");
  auto queue = queues_.find(channel.queue_id);
  if (queue == queues_.end()) {
    return channel.queue_id == 0
               ? reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "no queue")
               : reply(channel, call.call, HTTPAPI_ERROR_SHUTDOWN, 0, "the queue is shut down");
  }
  if (queue->second->creator_channel != channel.id()) {
    return reply(channel, call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 "only the handle that created the queue may shut it down");
  }
  for (auto& [id, handle] : channels_) {
    if (handle->queue_id != channel.queue_id || handle->closing()) continue;
    ipc::encode(handle->output(), ipc::QueueShutdown{channel.queue_id});
    flush_soon(*handle);
  }
  destroy_queue(*queue->second, "AppShutdown");
  reply(channel, call.call, kOk);
}

// A request the library held for a receive that never came (the queue was shut down).
void Service::on_decline(AppChannel& channel, const ipc::Frame& frame) {
  ipc::Decline call;
  if (!ipc::decode(frame, call)) return channel.close("malformed decline");
  auto pending = requests_.find(call.request);
  if (pending == requests_.end() || pending->second.channel != &channel) return;
  channel.delivered.erase(call.request);
  std::erase(channel.unseen, call.request);
  abandon(call.request, "AppShutdown");
}

// From now on the request is the application's: it no longer goes back to the queue, and
// its frame is not needed again. Requests are handed over in the order they came, so it is
// nearly always the first one.
void Service::on_seen(AppChannel& channel, const ipc::Frame& frame) {
  ipc::Seen call;
  if (!ipc::decode(frame, call)) return channel.close("malformed seen");
  const auto it = std::find(channel.unseen.begin(), channel.unseen.end(), call.request);
  if (it == channel.unseen.end()) return;
  channel.unseen.erase(it);
  auto pending = requests_.find(call.request);
  if (pending != requests_.end()) std::string().swap(pending->second.frame);
}

void Service::on_receive(AppChannel& channel, const ipc::Frame& frame) {
  ipc::Receive call;
  if (!ipc::decode(frame, call)) return channel.close("malformed receive");
  channel.credits = std::min<std::uint32_t>(channel.credits + call.credits, 65535);
  auto queue = queues_.find(channel.queue_id);
  if (queue != queues_.end()) dispatch(*queue->second);
}

void Service::dispatch(RequestQueue& queue) {
  while (AppChannel* receiver = queue.next_receiver()) {
    std::uint64_t id;
    if (!queue.pop(id)) break;
    auto pending = requests_.find(id);
    if (pending == requests_.end()) continue;  // the client left while it waited
    std::string& frame = pending->second.frame;
    pending->second.channel = receiver;
    receiver->credits--;
    receiver->delivered.insert(id);
    // The mark (version 2) tells the library's adaptive receive window that work waits.
    ipc::mark_backlog(frame, receiver->reports_seen() && queue.length() > 0);
    receiver->output().append(frame);
    if (receiver->reports_seen()) {
      // Kept until application code has seen it: until then it may go to another worker.
      receiver->unseen.push_back(id);
    } else {
      std::string().swap(frame);
    }
    flush_soon(*receiver);
  }
}

// Output for applications is written once per batch of events: requests from many client
// connections that became readable together reach an application in one write.
void Service::flush_soon(AppChannel& channel) {
  if (channel.flush_queued) return;
  channel.flush_queued = true;
  to_flush_.push_back(channel.id());
}

void Service::flush_queued_channels() {
  while (!to_flush_.empty()) {
    std::vector<std::uint64_t> ids;
    ids.swap(to_flush_);
    for (std::uint64_t id : ids) {
      auto channel = channels_.find(id);
      if (channel == channels_.end()) continue;
      channel->second->flush_queued = false;
      channel->second->flush();
    }
  }
}

void Service::on_read_body(AppChannel& channel, const ipc::Frame& frame) {
  ipc::ReadBody call;
  if (!ipc::decode(frame, call)) return channel.close("malformed read_body");
  auto pending = requests_.find(call.request);
  if (pending == requests_.end() || pending->second.channel != &channel) {
    ipc::encode(channel.output(), ipc::Body{call.request, ipc::kBodyGone, {}, {}});
    return channel.flush();
  }
  IoWorker& worker = *workers_[pending->second.worker];
  const std::uint64_t connection = pending->second.connection_id;
  const std::uint32_t max = std::max<std::uint32_t>(1, std::min<std::uint32_t>(call.max_bytes, ipc::kMaxBodyPiece));
  worker.loop().post([&worker, connection, id = call.request, max] {
    worker.read_body(connection, id, max);
  });
}

void Service::on_send(AppChannel& channel, const ipc::Frame& frame) {
  ResponsePart part;
  if (!decode_response_part(frame, part)) return channel.close("malformed send");
  SendAttachments attachments;
  std::uint64_t call = 0;
  if (part.chunk_list()) {
    // Resolved even for a request that is gone: its descriptors must leave the channel.
    const ChunkCheck check = resolve_chunks(channel, part.body, attachments, call);
    if (check.status == ChunkCheck::broken) return channel.close(check.why);
    if (check.status == ChunkCheck::refused) {
      return reply(channel, call, HTTPAPI_ERROR_NOT_FOUND, 0, check.why);
    }
  }
  auto pending = requests_.find(frame.tag);
  if (pending == requests_.end() || pending->second.channel != &channel) {
    if (call != 0) reply(channel, call, HTTPAPI_ERROR_CONNECTION_GONE);
    return;
  }
  IoWorker& worker = *workers_[pending->second.worker];
  const std::uint64_t connection = pending->second.connection_id;
  // The last piece ends the service's part.
  if (part.ends_response()) {
    channel.delivered.erase(frame.tag);
    requests_.erase(pending);
  }
  if (call != 0) reply(channel, call, kOk);
  // Held by shared_ptr: posted tasks are copyable, the part and descriptors are not.
  struct Delivery {
    ResponsePart part;
    SendAttachments attachments;
  };
  auto delivery = std::make_shared<Delivery>(std::move(part), std::move(attachments));
  worker.loop().post([&worker, connection, id = frame.tag, channel = channel.id(), delivery] {
    worker.deliver_response(connection, id, channel, std::move(delivery->part),
                            std::move(delivery->attachments));
  });
}

void Service::on_cancel(AppChannel& channel, const ipc::Frame& frame) {
  ipc::Cancel call;
  if (!ipc::decode(frame, call)) return channel.close("malformed cancel");
  auto pending = requests_.find(call.request);
  if (pending == requests_.end() || pending->second.channel != &channel) return;
  IoWorker& worker = *workers_[pending->second.worker];
  const std::uint64_t connection = pending->second.connection_id;
  channel.delivered.erase(call.request);
  requests_.erase(pending);
  worker.loop().post([&worker, connection, id = call.request] {
    worker.cancel_request(connection, id);
  });
}

// ---- from the I/O threads -------------------------------------------------------------

void Service::submit(InboundRequest request) {
  workers_[0]->loop().post([this, request = std::move(request)]() mutable {
    Pending pending{request.queue_id, request.worker, request.connection_id, nullptr,
                    std::move(request.frame), monotonic_ms(), request.queue_seconds};
    auto queue = queues_.find(request.queue_id);
    if (stopping_ || queue == queues_.end()) return fail(request.request_id, pending, "N/A");
    if (!queue->second->active) return fail(request.request_id, pending, "Disabled");
    if (queue->second->full()) return fail(request.request_id, pending, "QueueFull");
    requests_.emplace(request.request_id, std::move(pending));
    queue->second->push(request.request_id);
    dispatch(*queue->second);
  });
}

void Service::request_gone(std::uint64_t request_id) {
  workers_[0]->loop().post([this, request_id] {
    auto pending = requests_.find(request_id);
    if (pending == requests_.end()) return;
    if (AppChannel* channel = pending->second.channel) {
      ipc::encode(channel->output(), ipc::RequestGone{request_id});
      channel->delivered.erase(request_id);
      flush_soon(*channel);
    } else if (auto queue = queues_.find(pending->second.queue_id); queue != queues_.end()) {
      queue->second->remove(request_id);
    }
    requests_.erase(pending);
  });
}

void Service::body_ready(std::uint64_t request_id, std::string data, std::string trailers,
                         std::uint32_t flags) {
  workers_[0]->loop().post([this, request_id, data = std::move(data),
                            trailers = std::move(trailers), flags] {
    auto pending = requests_.find(request_id);
    if (pending == requests_.end() || !pending->second.channel) return;
    AppChannel& channel = *pending->second.channel;
    ipc::encode(channel.output(), ipc::Body{request_id, flags, data, trailers});
    flush_soon(channel);
  });
}

// ---- endings ------------------------------------------------------------------------------

void Service::abandon(std::uint64_t request_id, std::string_view log_reason) {
  auto pending = requests_.find(request_id);
  if (pending == requests_.end()) return;
  fail(request_id, pending->second, log_reason);
  requests_.erase(pending);
}

// HTTP.sys's request-queue timer: a request nobody took in time gets 503 Timer_ReqQueue.
// Each request has its own timer (its URL group may set one), so the whole queue is looked
// at, not only its oldest entries.
void Service::expire_waiting_requests() {
  const std::uint64_t now = monotonic_ms();
  for (auto& [id, queue] : queues_) {
    const auto expired_ids = queue->take_if([&](std::uint64_t request_id) {
      auto pending = requests_.find(request_id);
      return pending == requests_.end() ||
             expired(pending->second.queued_at, now, pending->second.queue_seconds);
    });
    for (std::uint64_t request_id : expired_ids) abandon(request_id, "Timer_ReqQueue");
  }
}

void Service::fail(std::uint64_t request_id, const Pending& pending,
                   std::string_view log_reason) {
  IoWorker& worker = *workers_[pending.worker];
  const auto queue = queues_.find(pending.queue_id);
  std::string queue_name = queue == queues_.end() ? std::string() : queue->second->name();
  const std::uint32_t verbosity =
      queue == queues_.end() ? HTTPAPI_503_LIMITED : queue->second->verbosity;
  worker.loop().post([&worker, connection = pending.connection_id, request_id,
                      answer = service_unavailable(log_reason, verbosity),
                      queue_name = std::move(queue_name)] {
    worker.fail_request(connection, request_id, answer, queue_name);
  });
}

void Service::on_channel_closed(AppChannel& channel) {
  if (channel.role() == ipc::Role::session) {
    for (const auto& [client_id, id] : channel.groups) {
      if (auto group = groups_.find(id); group != groups_.end()) remove_group(group->second);
    }
    channel.groups.clear();
    publish_routes();
    listeners_.close_unused(table_);
  } else {
    detach_from_queue(channel);
  }
  workers_[0]->loop().post([this, id = channel.id()] { channels_.erase(id); });
}

// HTTP.sys's promise: a request application code has seen is answered 503 when its process
// goes; one it has not seen goes back to the front of its queue, in order, for the next
// worker (unless the queue ends with this handle).
void Service::detach_from_queue(AppChannel& channel) {
  auto delivered = std::exchange(channel.delivered, {});
  const auto unseen = std::exchange(channel.unseen, {});
  auto queue = queues_.find(channel.queue_id);
  RequestQueue* q = queue == queues_.end() ? nullptr : queue->second.get();
  bool ends = false;
  if (q) {
    q->detach(&channel);
    ends = --q->handles == 0 && !(q->flags() & HTTPAPI_QUEUE_FLAG_PERSISTENT);
  }
  if (q && !ends) {
    std::vector<std::uint64_t> back;
    for (std::uint64_t id : unseen) {
      auto pending = requests_.find(id);
      if (pending == requests_.end() || pending->second.channel != &channel ||
          !delivered.erase(id)) {
        continue;
      }
      pending->second.channel = nullptr;
      back.push_back(id);
    }
    q->requeue(back);
  }
  for (std::uint64_t id : delivered) abandon(id, "Connection_Abandoned_By_ReqQueue");
  if (!q) return;
  if (ends) return destroy_queue(*q, "Connection_Abandoned_By_ReqQueue");
  dispatch(*q);
}

void Service::destroy_queue(RequestQueue& queue, std::string_view log_reason) {
  for (std::uint64_t id : queue.take_all()) abandon(id, log_reason);
  // Groups bound to it stay registered; their requests get 503 until bound again.
  const std::uint64_t id = queue.id();
  for (auto& [group_id, group] : groups_) {
    if (group.queue_id == id) route_group_to(group, 0);
  }
  fragments_.remove_queue(id);
  queues_.erase(id);
  publish_routes();
}

// The I/O threads see registrations plus every reservation nobody has registered: a request
// whose best match is such a reservation is answered 503 and goes no further (DESIGN.md §4).
void Service::publish_routes() {
  publish_route_table();
  // Who answers a URL may have changed: a cached answer from its former owner must go.
  cache_.clear();
  auto limits = std::make_shared<GroupLimitsById>();
  for (const auto& [id, group] : groups_) (*limits)[id] = group.limits;
  group_limits_.store(std::shared_ptr<const GroupLimitsById>(std::move(limits)));
}

// The snapshot's targets carry their queue's 503 verbosity and name; the names' bytes live
// in the snapshot, as the I/O threads may hold it after the queue is gone.
void Service::publish_route_table() {
  struct Snapshot {
    route::PrefixTable table;
    std::deque<std::string> queue_names;  // a deque: growing it moves no string
  };
  auto snapshot = std::make_shared<Snapshot>(Snapshot{table_, {}});
  for (const auto& reservation : namespace_.all()) {
    snapshot->table.add(reservation.prefix, route::Target{});
  }
  std::unordered_map<std::uint64_t, std::string_view> names;
  snapshot->table.update_targets([&](route::Target& target) {
    const auto queue = queues_.find(target.queue_id);
    if (queue == queues_.end()) return;
    auto [name, added] = names.try_emplace(target.queue_id);
    if (added) name->second = snapshot->queue_names.emplace_back(queue->second->name());
    target.verbosity = queue->second->verbosity;
    target.queue_name = name->second;
  });
  // The published pointer shares ownership of the whole snapshot.
  routes_.store(std::shared_ptr<const route::PrefixTable>(snapshot, &snapshot->table));
}

std::shared_ptr<GroupLimits> Service::group_limits(std::uint64_t group_id) const {
  const auto all = group_limits_.load();
  const auto it = all->find(group_id);
  return it == all->end() ? nullptr : it->second;
}

}  // namespace httpapi::daemon
