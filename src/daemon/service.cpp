#include "daemon/service.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "daemon/builtin/health_url.hpp"
#include "daemon/builtin/metrics_url.hpp"
#include "daemon/control/app_channel.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"
#include "proxy/proxy_endpoints.hpp"
#include "tls/server_contexts.hpp"

namespace httpapi::daemon {
namespace {

// Access-log records waiting for the writer thread: at 100,000 requests a second, well over
// the 100 ms the writer may sleep.
constexpr std::size_t kAccessLogBuffer = 16384;

unsigned usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return static_cast<unsigned>(count);
  }
  return 1;
}

const std::string& config_db(const Options& options) { return options.config_db; }

// The directories exist already (service_paths.hpp), owned by the user the service runs as.
std::unique_ptr<config::ConfigStore> open_store(const Options& options) {
  config::StoreError error;
  auto store = config::ConfigStore::open(config_db(options), error);
  if (!store) throw std::runtime_error(error.message);
  return store;
}

std::vector<std::unique_ptr<IoWorker>> make_workers(Service& service, const Options& options) {
  const unsigned threads = options.io_threads ? options.io_threads : usable_cpus();
  std::vector<std::unique_ptr<IoWorker>> workers;
  for (unsigned i = 0; i < threads; ++i) workers.push_back(std::make_unique<IoWorker>(service, i));
  return workers;
}

}  // namespace

Service::Service(Options options, SystemdNotifier notifier, Spawner spawner)
    : options_(std::move(options)),
      notifier_(std::move(notifier)),
      spawner_(std::move(spawner)),
      store_(open_store(options_)),
      access_log_(std::make_unique<AccessLog>(options_.log_dir + "/access",
                                              kAccessLogBuffer)),
      workers_(make_workers(*this, options_)),
      control_(workers_[0]->loop()),
      url_groups_(queues_, namespace_, cache_, *access_log_, workers_,
                  [this] { return store_->listen_addresses(); }) {
  settings_ = options_.settings;
  for (const auto& [key, value] : store_->settings()) {
    std::string why;
    if (!apply_setting(settings_, key, value, why)) {
      diagnose(LogLevel::warning, "httpapid: setting '{}' in {} ignored: {}\n", key,
               config_db(options_), why);
    }
  }
  if (const std::size_t skipped = namespace_.load(store_->reservations()); skipped > 0) {
    diagnose(LogLevel::warning,
             "httpapid: {} reservation(s) in {} no longer parse and are ignored\n", skipped,
             config_db(options_));
  }
  set_log_level(settings_.log_level);
  error_log_ = std::make_unique<ErrorLog>(options_.log_dir, options_.error_log_rollover_bytes);
  for (auto& worker : workers_) worker->set_settings(settings_);
  cache_.set_limits(settings_.cache);
  fragments_.set_limits(settings_.cache);
  access_log_->configure_server(settings_.access_log_rollover, settings_.access_log_rollover_bytes,
                                settings_.access_log_local_time);
  url_groups_.publish();  // with the reservations
  builtin_urls_.add("health_url", health_handler([this] { return drain_.draining(); }));
  builtin_urls_.add("metrics_url", metrics_handler(metrics_));
  if (std::string why; apply_builtin_urls(settings_, why) != HTTPAPI_OK) {
    diagnose(LogLevel::warning, "httpapid: {}\n", why);
  }
  publish_tls();
  publish_proxy_endpoints();
  route_messages();
  url_groups_.on_adopted = [this](std::uint64_t from, std::uint64_t to) { on_adopted(from, to); };
}

Service::~Service() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

EventLoop& Service::service_loop() { return workers_[0]->loop(); }

// The dispatch table: which part handles each message, by the role of its channel.
void Service::route_messages() {
  using ipc::Role;
  using ipc::Type;
  auto to = [](auto& part, auto method) {
    return [&part, method](AppChannel& channel, const ipc::Frame& frame) {
      (part.*method)(channel, frame);
    };
  };
  control_.handle(Role::session, Type::create_group, to(url_groups_, &UrlGroups::on_create_group));
  control_.handle(Role::session, Type::close_group, to(url_groups_, &UrlGroups::on_close_group));
  control_.handle(Role::session, Type::add_url, to(url_groups_, &UrlGroups::on_add_url));
  control_.handle(Role::session, Type::remove_url, to(url_groups_, &UrlGroups::on_remove_url));
  control_.handle(Role::session, Type::bind_group, to(url_groups_, &UrlGroups::on_bind_group));
  control_.handle(Role::session, Type::group_property,
                  to(url_groups_, &UrlGroups::on_group_property));
  control_.handle(Role::session, Type::group_logging,
                  to(url_groups_, &UrlGroups::on_group_logging));
  control_.on_closed(Role::session,
                     [this](AppChannel& session) { url_groups_.close_session(session); });

  control_.handle(Role::queue, Type::create_queue, to(queue_calls_, &QueueCalls::on_create_queue));
  control_.handle(Role::queue, Type::queue_allow, to(queue_calls_, &QueueCalls::on_queue_allow));
  control_.handle(Role::queue, Type::queue_property,
                  to(queue_calls_, &QueueCalls::on_queue_property));
  control_.handle(Role::queue, Type::shutdown_queue,
                  to(queue_calls_, &QueueCalls::on_shutdown_queue));
  control_.handle(Role::queue, Type::receive, to(broker_, &RequestBroker::on_receive));
  control_.handle(Role::queue, Type::read_body, to(broker_, &RequestBroker::on_read_body));
  control_.handle(Role::queue, Type::send_response, to(broker_, &RequestBroker::on_send));
  control_.handle(Role::queue, Type::send_body, to(broker_, &RequestBroker::on_send));
  control_.handle(Role::queue, Type::send_trailers, to(broker_, &RequestBroker::on_send));
  control_.handle(Role::queue, Type::log_data, to(broker_, &RequestBroker::on_send));
  control_.handle(Role::queue, Type::cancel, to(broker_, &RequestBroker::on_cancel));
  control_.handle(Role::queue, Type::decline, to(broker_, &RequestBroker::on_decline));
  control_.handle(Role::queue, Type::seen, to(broker_, &RequestBroker::on_seen));
  control_.handle(Role::queue, Type::seen_counter, to(broker_, &RequestBroker::on_seen_counter));
  control_.handle(Role::queue, Type::flush_cache, to(cache_calls_, &CacheCalls::on_flush_cache));
  control_.handle(Role::queue, Type::add_fragment, to(cache_calls_, &CacheCalls::on_add_fragment));
  control_.handle(Role::queue, Type::read_fragment,
                  to(cache_calls_, &CacheCalls::on_read_fragment));
  control_.on_closed(Role::queue,
                     [this](AppChannel& handle) { queue_calls_.on_handle_closed(handle); });

  control_.handle(Role::admin, Type::admin, to(admin_, &AdminCommands::on_admin));
}

int Service::run() {
  if (options_.upgrade_fd >= 0) {
    take_over();
  } else {
    control_.listen(options_.runtime_dir + "/control.sock");
  }
  ::chmod(options_.runtime_dir.c_str(), 0755);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  EventLoop& loop = service_loop();
  loop.watch(signal_fd_, EPOLLIN, [this](std::uint32_t) { handle_signal(); });
  loop.every_second([this] { tick(); });
  loop.on_batch_end([this] { control_.flush_queued(); });
  for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->start_thread();
  diagnose(LogLevel::notice, "httpapid {}: listening for applications on {} ({} I/O thread{})\n",
           HTTPAPI_VERSION_STRING, control_.path(), workers_.size(),
           workers_.size() == 1 ? "" : "s");
  publish_control_gauges();
  // After an upgrade the old process, still the main PID, names this one to systemd
  // (NotifyAccess=main hears only the main PID); this MAINPID= of its own counts where a
  // unit has NotifyAccess=all.
  notifier_.send(fmt::format("{}READY=1\nSTATUS={}",
                             predecessor_ >= 0 ? fmt::format("MAINPID={}\n", ::getpid()) : "",
                             status_line()));
  notifier_.watchdog_tick();
  try {
    loop.run();
  } catch (...) {
    stop_on_internal_error("service");
  }
  for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->join();
  control_.stop(retiring_);  // the socket's path is the new process's now
  if (retiring_) {
    diagnose(LogLevel::notice, "httpapid: replaced by PID {}, stopped\n", upgrade_.pid());
  } else {
    diagnose(LogLevel::notice, "httpapid: stopped\n");
  }
  return 0;
}

void Service::handle_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGHUP) {
      reload();
      continue;
    }
    diagnose(LogLevel::notice, "httpapid: signal {} received, finishing in-flight responses\n",
             info.ssi_signo);
    begin_shutdown();
  }
}

void Service::reload() {
  notifier_.reloading();
  error_log_->reopen();
  access_log_->reopen();
  const std::size_t applied = admin_.reload_settings();
  diagnose("httpapid: SIGHUP: logs reopened, {} stored setting{} applied\n", applied,
           applied == 1 ? "" : "s");
  notifier_.send("READY=1\nSTATUS=" + status_line());
}

std::string Service::status_line() const {
  std::size_t sessions = 0;
  for (const auto& [id, channel] : control_.channels()) {
    if (channel->role() == ipc::Role::session) ++sessions;
  }
  const std::string drain = drain_.status(monotonic_ms());
  return fmt::format("{} client connections, {} application sessions, {} request queues, "
                     "{} requests since start{}{}{}",
                     connections_.current(), sessions, queues_.all().size(),
                     request_ids_.load(std::memory_order_relaxed), drain.empty() ? "" : "; ",
                     drain, stopping_ ? "; stopping" : "");
}

void Service::publish_control_gauges() {
  metrics::ControlGauges gauges;
  for (const auto& [id, queue] : queues_.all()) {
    metrics::add_queue_gauge(gauges, queue->name(), queue->length(), queue->receivers().size());
  }
  for (const auto& [id, channel] : control_.channels()) {
    const auto role = static_cast<std::size_t>(channel->role());
    if (channel->closing() || role < 1 || role > gauges.app_channels.size()) continue;
    ++gauges.app_channels[role - 1];
  }
  metrics_.publish(std::move(gauges));
}

void Service::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  // A drain may have stopped some threads already: each says so again below.
  drained_workers_.assign(workers_.size(), false);
  notifier_.send("STOPPING=1");
  broker_.stop_accepting();
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([w] { w->stop_accepting(); });
  }
}

void Service::throttle(std::uint64_t channel_id, bool on) {
  service_loop().post([this, channel_id, on] {
    if (AppChannel* channel = control_.find(channel_id)) channel->pause_reading(on);
  });
}

void Service::worker_drained(unsigned index) {
  service_loop().post([this, index] {
    if (drained_workers_.size() != workers_.size()) drained_workers_.assign(workers_.size(), false);
    drained_workers_[index] = true;
    for (const bool drained : drained_workers_) {
      if (!drained) return;
    }
    if (!stopping_) return drain_.all_connections_gone();
    for (auto& worker : workers_) worker->loop().stop();
  });
}

// The listeners close on every thread (IoWorker::stop_accepting); each reports
// worker_drained() once its last connection is gone.
void Service::drain_stop_accepting() {
  drained_workers_.assign(workers_.size(), false);
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([w] { w->stop_accepting(); });
  }
}

void Service::drain_close_connections() {
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([this, w] {
      const std::size_t closed = w->close_all();
      service_loop().post([this, closed] { drain_.closed_at_timeout(closed); });
    });
  }
}

std::uint32_t Service::apply_builtin_urls(const Settings& settings, std::string& detail) {
  for (std::uint32_t id = 1; id <= builtin_urls_.count(); ++id) {
    const std::string& key = builtin_urls_.setting(id);
    std::string Settings::*url = url_setting(key);
    const std::string prefix = url ? builtin_prefix_text(settings.*url) : std::string();
    if (const std::uint32_t status = url_groups_.set_builtin(id, key, prefix, detail);
        status != HTTPAPI_OK) {
      return status;
    }
  }
  return HTTPAPI_OK;
}

void Service::tick() {
  notifier_.watchdog_tick();
  notifier_.status(status_line());
  publish_control_gauges();
  broker_.expire_waiting();
  const unsigned now = monotonic_seconds();
  cache_.scavenge(now);
  fragments_.scavenge(now);
  drain_.tick(monotonic_ms());
  ticket_keys_->rotate_if_due(now);
  control_.close_silent(now);
  upgrade_.tick();
  if (held_seconds_left_ > 0 && --held_seconds_left_ == 0) release_held();
  if (stopping_ && ++shutdown_ticks_ > options_.shutdown_seconds) {
    diagnose(LogLevel::warning,
             "httpapid: shutdown timer expired, closing remaining connections\n");
    for (auto& worker : workers_) worker->loop().stop();
  }
}

void Service::publish_tls() {
  std::vector<std::string> problems;
  std::shared_ptr<const tls::ServerContexts> contexts =
      tls::ServerContexts::build(store_->cert_bindings(), ticket_keys_, problems);
  for (const std::string& problem : problems) {
    diagnose(LogLevel::warning, "httpapid: {}\n", problem);
  }
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([w, contexts] { w->set_tls(contexts); });
  }
}

// A stored entry whose networks no longer parse is left out (and said so) rather than
// trusting anything it might have meant.
void Service::publish_proxy_endpoints() {
  std::vector<proxy::ProxyEndpoint> marked;
  for (const config::ListenEndpoint& e : store_->listen_endpoints()) {
    if (!e.proxy_protocol) continue;
    proxy::ProxyEndpoint endpoint;
    endpoint.host = e.host;
    endpoint.port = e.port;
    if (const std::string problem = endpoint.trusted.parse(e.trusted); !problem.empty()) {
      diagnose("httpapid: the PROXY protocol endpoint {}:{} is ignored: {}\n", e.host, e.port,
               problem);
      continue;
    }
    marked.push_back(std::move(endpoint));
  }
  auto endpoints = std::make_shared<const proxy::ProxyEndpoints>(std::move(marked));
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([w, endpoints] { w->set_proxy_endpoints(endpoints); });
  }
}

// ---- from the I/O threads -------------------------------------------------------------

void Service::submit(InboundRequest request) {
  auto hand_over = [this, request = std::move(request)]() mutable {
    broker_.submit(std::move(request));
  };
  static_assert(Task::fits_inline<decltype(hand_over)>(), "a request's hand-over allocates");
  service_loop().post(std::move(hand_over));
}

void Service::request_gone(std::uint64_t request_id) {
  service_loop().post([this, request_id] { broker_.request_gone(request_id); });
}

void Service::body_ready(std::uint64_t request_id, std::string data, std::string trailers,
                         std::uint32_t flags) {
  service_loop().post([this, request_id, data = std::move(data), trailers = std::move(trailers),
                       flags]() mutable {
    broker_.body_ready(request_id, std::move(data), std::move(trailers), flags);
  });
}

}  // namespace httpapi::daemon
