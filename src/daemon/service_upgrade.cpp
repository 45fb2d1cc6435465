// The service's part of `httpcfg upgrade` (docs/operations.md, "Upgrades"). The old process
// has its spawner start the new binary (UpgradeLauncher, Spawner: also under --seccomp,
// whose filter keeps execve from the service itself), which says hello on the hand-over
// socket; the old
// one sends what it holds that the store does not: the registered URLs and the queues they
// route to (as JSON), then the control socket's and every port's listening descriptor. Both
// accept on the same sockets for a moment; once the new one says it serves, the old one stops
// accepting, gives each plain HTTP/1.1 connection to the new one as soon as it is between
// requests, lets the others finish, and exits. Its applications keep their requests until
// then; when their channels close they reconnect (to the same socket, now the new
// process's) and register again; meanwhile the new process holds their prefixes and queues
// the requests for them.
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/control/app_channel.hpp"
#include "daemon/control/handover_channel.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/service.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {
namespace {

using json = nlohmann::json;

// A plain HTTP/1.1 client between two requests moves at once; one that stays busy (or
// speaks TLS or HTTP/2) this long is told Connection: close on its next response instead.
constexpr std::uint64_t kRetireGraceMs = 2000;
// How long the new process holds a handed-over prefix for its application to come back.
constexpr unsigned kHoldSeconds = 60;

}  // namespace

void Service::start_upgrade(AppChannel& channel, std::uint64_t call, const std::string& binary) {
  std::string refusal;
  if (retiring_) {
    refusal = fmt::format("this httpapid is being replaced by PID {}; ask that one",
                          upgrade_.pid());
  } else if (upgrade_.busy()) {
    refusal = fmt::format("an upgrade is already in progress (PID {} is starting); wait for "
                          "its outcome, then try again", upgrade_.pid());
  } else if (predecessor_ >= 0) {
    refusal = "the previous upgrade is still finishing (the old process hands its "
              "connections over); try again in a few seconds";
  } else if (stopping_) {
    refusal = "httpapid is stopping";
  } else if (drain_.phase() != Drain::Phase::serving) {
    refusal = "httpapid is draining; run httpcfg resume first (during the grace period), or "
              "let the drain finish and start the service again";
  }
  if (!refusal.empty()) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_STATE, 0, "upgrade refused: " + refusal);
  }
  const std::string path = binary.empty() ? options_.executable : binary;
  if (const std::string problem = upgrade_.start(path, options_.arguments); !problem.empty()) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, problem);
  }
  diagnose(LogLevel::notice, "httpapid: uid {} started an upgrade to {}\n", channel.peer().uid,
           path);
  upgrade_channel_ = channel.id();
  upgrade_call_ = call;
}

void Service::send_handover_state(int socket) {
  json queues = json::array();
  for (const auto& [id, q] : queues_.all()) {
    queues.push_back({{"id", id}, {"name", q->name()}, {"owner_uid", q->owner_uid()},
                      {"flags", q->flags()}, {"capacity", q->capacity()},
                      {"verbosity", q->verbosity}, {"active", q->active}});
  }
  const json state = {{"version", 1}, {"urls", url_groups_.handover_state()},
                      {"queues", queues}};
  bool sent = handover::send(socket, handover::Record::state, state.dump()) &&
              handover::send(socket, handover::Record::control, "", control_.listening_fd());
  for (const Listeners::Socket& s : url_groups_.listeners().sockets()) {
    sent = sent && handover::send(socket, handover::Record::listener,
                                  fmt::format("{} {}", s.port, s.secure ? 1 : 0), s.fd);
  }
  sent = sent && handover::send(socket, handover::Record::end, "");
  if (!sent) diagnose(LogLevel::warning, "httpapid: upgrade: the state could not be sent\n");
}

void Service::upgrade_finished(bool taken, const std::string& message) {
  // systemd follows the main PID, and with the unit's NotifyAccess=main only this process,
  // still the main one, may name the next (it is in the unit's cgroup, so systemd takes it).
  if (taken) notifier_.send("MAINPID=" + message);
  AppChannel* channel = control_.find(upgrade_channel_);
  if (channel && !channel->closing()) {
    if (taken) {
      channel->reply(upgrade_call_, HTTPAPI_OK, std::stoull(message),
                     json{{"old_pid", ::getpid()}, {"new_pid", std::stoll(message)}}.dump());
    } else {
      channel->reply(upgrade_call_, HTTPAPI_ERROR_INVALID_STATE, 0, message);
    }
  }
  upgrade_channel_ = 0;
  if (taken) retire();
}

void Service::retire() {
  diagnose(LogLevel::notice,
           "httpapid: upgrade: PID {} took over; handing over connections, then exiting\n",
           upgrade_.pid());
  retiring_ = true;
  stopping_ = true;  // the shutdown timer bounds what is left
  drained_workers_.assign(workers_.size(), false);  // each thread says so again
  control_.stop_accepting();
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([w] { w->retire(kRetireGraceMs); });
  }
}

void Service::hand_off_connection(int fd) {
  service_loop().post([this, fd] {
    const int socket = upgrade_.socket();
    if (socket < 0 || !handover::send(socket, handover::Record::connection, "", fd)) {
      diagnose(LogLevel::warning, "httpapid: upgrade: an idle connection could not be handed "
                                  "over and is closed\n");
    }
    ::close(fd);
  });
}

// ---- the new process ----------------------------------------------------------------------

void Service::take_over() {
  const int socket = options_.upgrade_fd;
  if (!handover::send(socket, handover::Record::hello, "")) {
    throw std::runtime_error("the hand-over socket from the old httpapid is closed");
  }
  std::vector<Listeners::Socket> sockets;
  bool control = false;
  for (;;) {
    handover::Record type;
    std::string text;
    int fd = -1;
    const handover::Received got = handover::receive(socket, type, text, fd, 10000);
    if (got != handover::Received::record) {
      for (const auto& s : sockets) ::close(s.fd);
      throw std::runtime_error(got == handover::Received::timeout
                                   ? "the old httpapid sent no state within 10 s"
                                   : "the old httpapid closed the hand-over socket");
    }
    if (type == handover::Record::end) break;
    if (type == handover::Record::state) {
      const json state = json::parse(text, nullptr, false);
      if (state.is_discarded() || state.value("version", 0) != 1) {
        throw std::runtime_error("the old httpapid's state is not version 1 of the hand-over");
      }
      hold_handed_over(state);
    } else if (type == handover::Record::control && fd >= 0) {
      control_.adopt(options_.runtime_dir + "/control.sock", fd);
      control = true;
    } else if (type == handover::Record::listener && fd >= 0) {
      unsigned port = 0;
      unsigned secure = 0;
      std::sscanf(text.c_str(), "%u %u", &port, &secure);
      sockets.push_back({static_cast<std::uint16_t>(port), secure != 0, fd});
    } else if (fd >= 0) {
      ::close(fd);
    }
  }
  if (!control) throw std::runtime_error("the old httpapid sent no control socket");
  url_groups_.listeners().adopt(sockets);
  url_groups_.publish();
  if (!handover::send(socket, handover::Record::taken, std::to_string(::getpid()))) {
    throw std::runtime_error("the old httpapid went away during the hand-over");
  }
  predecessor_ = socket;
  options_.upgrade_fd = -1;
  held_seconds_left_ = kHoldSeconds;
  service_loop().watch(predecessor_, EPOLLIN, [this](std::uint32_t) { on_predecessor_readable(); });
  diagnose(LogLevel::notice,
           "httpapid: upgrade: took over the control socket and {} listening socket{}\n",
           sockets.size(), sockets.size() == 1 ? "" : "s");
}

// The URLs the old process had registered, held for its applications, each in a queue like
// the one it routed to there; requests wait in them until the applications are back.
void Service::hold_handed_over(const json& state) {
  std::unordered_map<std::uint64_t, std::uint64_t> held_ids;  // old queue id -> held one's
  for (const json& q : state.value("queues", json::array())) {
    RequestQueue& held = queues_.create_held(
        q.value("name", std::string()), q.value("owner_uid", 0u), q.value("flags", 0u),
        q.value("capacity", std::size_t{1000}));
    held.verbosity = q.value("verbosity", 1u);
    held.active = q.value("active", true);
    held_ids[q.value("id", std::uint64_t{0})] = held.id();
  }
  for (const json& url : state.value("urls", json::array())) {
    const auto held = held_ids.find(url.value("queue", std::uint64_t{0}));
    url_groups_.hold(url.value("url", std::string()), url.value("context", std::uint64_t{0}),
                     held == held_ids.end() ? 0 : held->second);
  }
}

void Service::on_predecessor_readable() {
  for (;;) {
    handover::Record type;
    std::string text;
    int fd = -1;
    const handover::Received got = handover::receive(predecessor_, type, text, fd, 0);
    if (got == handover::Received::timeout) return;
    if (got != handover::Received::record) {
      service_loop().unwatch(predecessor_);
      ::close(predecessor_);
      predecessor_ = -1;
      diagnose("httpapid: upgrade: the old httpapid has finished\n");
      return;
    }
    if (type != handover::Record::connection || fd < 0) {
      if (fd >= 0) ::close(fd);
      continue;
    }
    IoWorker* w = workers_[next_adopting_worker_++ % workers_.size()].get();
    w->loop().post([w, fd] { w->adopt_connection(fd); });
  }
}

void Service::on_adopted(std::uint64_t held_queue, std::uint64_t queue) {
  RequestQueue* from = queues_.find(held_queue);
  RequestQueue* to = queues_.find(queue);
  if (!from || !to || !from->held) return;
  from->forward_to = queue;
  broker_.move_waiting(*from, *to);
}

void Service::release_held() {
  for (const std::uint64_t id : url_groups_.release_held()) {
    if (RequestQueue* queue = queues_.find(id)) broker_.abandon_waiting(*queue, "N/A");
  }
  std::vector<std::uint64_t> held;
  for (const auto& [id, queue] : queues_.all()) {
    if (queue->held) held.push_back(id);
  }
  for (const std::uint64_t id : held) {
    if (RequestQueue* queue = queues_.find(id)) broker_.abandon_waiting(*queue, "N/A");
    queues_.erase(id);
  }
}

void Service::describe_upgrade(json& out) const {
  out = {{"pid", ::getpid()},
                {"spawner_pid", spawner_.pid() > 0 ? json(spawner_.pid()) : json(nullptr)},
                {"in_progress", upgrade_.busy() && !retiring_},
                {"replaced_by", retiring_ ? json(upgrade_.pid()) : json(nullptr)},
                {"predecessor_connected", predecessor_ >= 0},
                {"held", url_groups_.describe_held()}};
}

}  // namespace httpapi::daemon
