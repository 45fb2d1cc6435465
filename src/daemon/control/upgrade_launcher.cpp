#include "daemon/control/upgrade_launcher.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "daemon/control/handover_channel.hpp"
#include "daemon/control/spawner.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/loop/event_loop.hpp"

extern char** environ;

namespace httpapi::daemon {
namespace {

// This process's environment with the hand-over descriptor's number set. WATCHDOG_PID
// names this process: left out, the new one takes systemd's WATCHDOG_USEC as its own and
// pings once it is the main PID (docs/operations.md, "Upgrades").
std::vector<std::string> child_environment(int fd) {
  std::vector<std::string> variables;
  const std::string name = std::string(handover::kEnvironment) + "=";
  for (char** entry = environ; *entry; ++entry) {
    const std::string_view variable(*entry);
    if (variable.starts_with(name) || variable.starts_with("WATCHDOG_PID=")) continue;
    variables.emplace_back(variable);
  }
  variables.push_back(name + std::to_string(fd));
  return variables;
}

// How a child ended, from its wait status.
std::string ending(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("it exited with status {} before taking over (its reason is in the "
                       "lines above, on the same standard error as this one's)",
                       WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("it was killed by signal {} before taking over", WTERMSIG(status));
  }
  return "it ended before taking over";
}

}  // namespace

UpgradeLauncher::~UpgradeLauncher() {
  if (socket_ >= 0) ::close(socket_);
}

std::string UpgradeLauncher::start(const std::string& binary,
                                   const std::vector<std::string>& arguments) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return fmt::format("cannot make the hand-over socket: {}", std::strerror(errno));
  }
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::string why;
  int error = 0;
  const pid_t pid = spawner_.spawn(binary, argv, child_environment(Spawner::kChildDescriptor),
                                   pair[1], why, error);
  ::close(pair[1]);  // the spawner passed its own copy on
  if (pid < 0) {
    ::close(pair[0]);
    return error != 0 ? fmt::format("cannot start {}: {}; give the path of an httpapid binary "
                                    "with --binary", binary, why)
                      : fmt::format("cannot start {}: {}", binary, why);
  }
  socket_ = pair[0];
  pid_ = pid;
  child_ = pid;
  reaped_ = false;
  binary_ = binary;
  taken_ = false;
  seconds_left_ = kDeadlineSeconds;
  ::fcntl(socket_, F_SETFL, O_NONBLOCK);
  loop_.watch(socket_, EPOLLIN, [this](std::uint32_t) { on_readable(); });
  diagnose(LogLevel::notice, "httpapid: upgrade: started {} as PID {}\n", binary, pid);
  return {};
}

void UpgradeLauncher::on_readable() {
  for (;;) {
    handover::Record type;
    std::string text;
    int fd = -1;
    const handover::Received got = handover::receive(socket_, type, text, fd, 0);
    if (fd >= 0) ::close(fd);  // nothing the new process sends carries one
    if (got == handover::Received::timeout) return;
    if (got != handover::Received::record) {
      if (taken_) {
        diagnose(LogLevel::warning,
                 "httpapid: upgrade: the new httpapid (PID {}) closed the hand-over socket; "
                 "the connections still here finish here\n", pid_);
        loop_.unwatch(socket_);
        ::close(socket_);
        socket_ = -1;
        return;
      }
      return fail(exit_text());
    }
    switch (type) {
      case handover::Record::hello:
        if (!taken_) hooks_.send_state(socket_);
        break;
      case handover::Record::taken:
        if (taken_) break;
        taken_ = true;
        hooks_.finished(true, std::to_string(pid_));
        break;
      case handover::Record::failed:
        return fail(fmt::format("it could not take over: {}", text));
      default:
        break;
    }
  }
}

void UpgradeLauncher::tick() {
  if (pid_ <= 0 || taken_ || seconds_left_ == 0) return;
  if (--seconds_left_ > 0) return;
  fail(fmt::format("it did not take over within {} s and was killed (is it an httpapid "
                   "that knows the hand-over?)",
                   kDeadlineSeconds));
}

std::string UpgradeLauncher::exit_text() {
  // It closed its end, so it is exiting: a short wait for its status is worth the message.
  if (const std::optional<int> status = spawner_.wait_exit(child_, 500)) {
    reaped_ = true;
    return ending(*status);
  }
  return "it closed the hand-over socket before taking over";
}

void UpgradeLauncher::fail(const std::string& why) {
  const pid_t pid = child_;
  if (!reaped_) {
    // Only the spawner may kill and wait for it (the filter lets this process do neither).
    spawner_.kill(pid);
    spawner_.wait_exit(pid, 2000);
    reaped_ = true;
  }
  if (socket_ >= 0) {
    loop_.unwatch(socket_);
    ::close(socket_);
    socket_ = -1;
  }
  pid_ = 0;
  seconds_left_ = 0;
  const std::string message = fmt::format(
      "the new httpapid ({}, PID {}) did not replace this one: {}; the running one keeps "
      "serving", binary_, pid, why);
  diagnose(LogLevel::warning, "httpapid: upgrade: {}\n", message);
  hooks_.finished(false, message);
}

}  // namespace httpapi::daemon
