#include "daemon/control/spawner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "daemon/control/record_socket.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/privilege.hpp"

namespace httpapi::daemon {
namespace {

using records::Received;

// One record each (record_socket.hpp): a type byte, then text.
constexpr char kSpawn = 'S';    // service -> spawner: "BINARY\0ARGC\0ARGV...\0ENV...\0" + fd
constexpr char kKill = 'K';     // service -> spawner: "PID"
constexpr char kStarted = 'P';  // spawner -> service: "PID"
constexpr char kFailed = 'E';   // spawner -> service: posix_spawn's errno
constexpr char kEnded = 'X';    // spawner -> service: "PID WAIT-STATUS"

// The spawner's own end of the socket, and so the descriptor a started program gets.
constexpr int kSpawnerSocket = Spawner::kChildDescriptor;
// posix_spawn returns once the child has exec'd; longer means the spawner is stuck.
constexpr int kAnswerMs = 10000;

// ---- the spawner process ------------------------------------------------------------------

// The NUL-terminated strings of a request.
std::vector<std::string> fields_of(std::string_view text) {
  std::vector<std::string> fields;
  while (!text.empty()) {
    const std::size_t end = text.find('\0');
    fields.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return fields;
}

std::vector<char*> pointers(std::vector<std::string>::iterator first,
                            std::vector<std::string>::iterator last) {
  std::vector<char*> out;
  for (; first != last; ++first) out.push_back(first->data());
  out.push_back(nullptr);
  return out;
}

// Starts what `text` names, `descriptor` as kSpawnerSocket there, and answers.
void answer_spawn(int socket, const std::string& text, int descriptor,
                  std::set<pid_t>& children) {
  std::vector<std::string> fields = fields_of(text);
  const std::size_t argc = fields.size() >= 2 ? std::strtoul(fields[1].c_str(), nullptr, 10) : 0;
  if (argc == 0 || fields.size() < 2 + argc) {
    records::send(socket, kFailed, std::to_string(EINVAL));
    return;
  }
  std::vector<char*> argv = pointers(fields.begin() + 2, fields.begin() + 2 + argc);
  std::vector<char*> envp = pointers(fields.begin() + 2 + argc, fields.end());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (descriptor >= 0) posix_spawn_file_actions_adddup2(&actions, descriptor, kSpawnerSocket);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  // What the service ignores (SIGPIPE) and this process ignores (SIGHUP) is not passed on.
  sigset_t ignored;
  sigemptyset(&ignored);
  sigaddset(&ignored, SIGPIPE);
  sigaddset(&ignored, SIGHUP);
  posix_spawnattr_setsigdefault(&attributes, &ignored);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, fields[0].c_str(), &actions, &attributes, argv.data(),
                                  envp.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    records::send(socket, kFailed, std::to_string(error));
    return;
  }
  children.insert(pid);
  records::send(socket, kStarted, std::to_string(pid));
}

// Every child that ended, to the service.
void report_ended(int socket, std::set<pid_t>& children) {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    children.erase(pid);
    if (!records::send(socket, kEnded, fmt::format("{} {}", pid, status))) ::_exit(0);
  }
}

void on_child(int) {}  // only so that SIGCHLD interrupts ppoll

[[noreturn]] void serve(int socket) {
  std::set<pid_t> children;
  // SIGCHLD is blocked except while waiting, so a child's end is reported between requests.
  sigset_t waiting;
  ::sigprocmask(SIG_SETMASK, nullptr, &waiting);
  sigdelset(&waiting, SIGCHLD);
  for (;;) {
    report_ended(socket, children);
    pollfd readable{socket, POLLIN, 0};
    if (::ppoll(&readable, 1, nullptr, &waiting) < 0) {
      if (errno == EINTR) continue;
      ::_exit(1);
    }
    char type = 0;
    std::string text;
    int descriptor = -1;
    const Received got = records::receive(socket, type, text, descriptor, 0);
    if (got == Received::closed || got == Received::error) ::_exit(0);  // the service is gone
    if (got == Received::record && type == kSpawn) {
      answer_spawn(socket, text, descriptor, children);
    } else if (got == Received::record && type == kKill) {
      const pid_t child = static_cast<pid_t>(std::strtol(text.c_str(), nullptr, 10));
      if (children.count(child)) ::kill(child, SIGKILL);  // not waited for: not reused
    }
    if (descriptor >= 0) ::close(descriptor);
  }
}

// In the child of fork(): keeps the standard streams and `socket` (as kSpawnerSocket) only,
// passes CAP_NET_BIND_SERVICE on, dies with `parent`, then serves.
[[noreturn]] void become_spawner(int socket, pid_t parent) {
  if (socket != kSpawnerSocket && ::dup3(socket, kSpawnerSocket, O_CLOEXEC) < 0) ::_exit(1);
  // The service's listening sockets, store, hand-over and notify sockets: none are needed.
  ::close_range(kSpawnerSocket + 1, ~0U, 0);
  std::string error;
  if (!pass_on_bind_capability(error)) {
    diagnose(LogLevel::warning, "httpapid: spawner: {}; after an upgrade the new httpapid may "
                                "not bind a port below 1024 it did not receive\n", error);
  }
  // After the capability change, which would reset it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != parent) ::_exit(0);
  ::prctl(PR_SET_NAME, "httpapid-spawn", 0, 0, 0);
  ::signal(SIGHUP, SIG_IGN);  // `kill -HUP` for a reload may reach the whole group
  struct sigaction child {};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP;
  sigemptyset(&child.sa_mask);
  ::sigaction(SIGCHLD, &child, nullptr);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);  // SIGTERM and SIGINT end it, as the service
  serve(kSpawnerSocket);
}

}  // namespace

Spawner Spawner::fork_process(std::string& error) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    error = fmt::format("cannot make the spawner's socket: {}", std::strerror(errno));
    return {};
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pair[0]);
    become_spawner(pair[1], parent);
  }
  ::close(pair[1]);
  if (pid < 0) {
    error = fmt::format("cannot fork the spawner: {}", std::strerror(errno));
    ::close(pair[0]);
    return {};
  }
  return Spawner(pair[0], pid);
}

Spawner::Spawner(Spawner&& other) noexcept { *this = std::move(other); }

Spawner& Spawner::operator=(Spawner&& other) noexcept {
  if (this != &other) {
    close_socket();
    socket_ = std::exchange(other.socket_, -1);
    pid_ = std::exchange(other.pid_, 0);
  }
  return *this;
}

namespace {

// True once `pid` (the spawner, a child of ours) has exited: its /proc entry is a zombie or
// gone. The kernel hands an exiting process's children on before it makes it a zombie, so by
// then a new httpapid it started has its new parent. Without wait4, which the filter does
// not allow (docs/operations.md, "The spawner"), the zombie stays until the service exits.
bool exited(pid_t pid) {
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char stat[512];
  const ssize_t n = ::read(fd, stat, sizeof stat - 1);
  ::close(fd);
  if (n <= 0) return true;
  // "PID (comm) S ...": the state follows the last ')' (comm may hold one too).
  const std::string_view text(stat, static_cast<std::size_t>(n));
  const std::size_t paren = text.rfind(')');
  return paren == std::string_view::npos || paren + 2 >= text.size() ||
         text[paren + 2] == 'Z' || text[paren + 2] == 'X';
}

}  // namespace

// The spawner ends at EOF on its socket, and the service waits for that before it goes on to
// exit: a new httpapid the spawner started is then reparented (to systemd under the unit)
// before the old service's own end is seen, so whoever waits for it, systemd included, gets
// the new process's exit status in turn.
Spawner::~Spawner() {
  close_socket();
  if (pid_ <= 0) return;
  constexpr int kWaitMs = 2000;  // past this, PR_SET_PDEATHSIG ends it with the service
  for (int waited = 0; waited < kWaitMs && !exited(pid_); ++waited) ::usleep(1000);
}

void Spawner::close_socket() noexcept {
  if (socket_ >= 0) ::close(socket_);
  socket_ = -1;
}

pid_t Spawner::spawn(const std::string& binary, const std::vector<std::string>& argv,
                     const std::vector<std::string>& environment, int descriptor,
                     std::string& error, int& error_number) {
  error_number = 0;
  if (socket_ < 0) {
    error = pid_ > 0 ? fmt::format("the spawner process (PID {}) is gone; restart httpapid "
                                   "(applications reconnect by themselves)", pid_)
                     : "httpapid has no spawner process (its start said why); restart it";
    return -1;
  }
  std::string request = binary + '\0' + std::to_string(argv.size()) + '\0';
  for (const std::string& s : argv) request.append(s).push_back('\0');
  for (const std::string& s : environment) request.append(s).push_back('\0');
  if (!records::send(socket_, kSpawn, request, descriptor)) {
    const int failure = errno;
    error = fmt::format("cannot ask the spawner process (PID {}): {}", pid_,
                        std::strerror(failure));
    if (failure == EPIPE || failure == ECONNRESET) close_socket();
    return -1;
  }
  for (;;) {
    char type = 0;
    std::string text;
    int fd = -1;
    const Received got = records::receive(socket_, type, text, fd, kAnswerMs);
    if (fd >= 0) ::close(fd);
    if (got != Received::record) {
      // A late answer would be taken for the next request's: this spawner is done.
      error = got == Received::timeout
                  ? fmt::format("the spawner process (PID {}) did not answer within {} s",
                                pid_, kAnswerMs / 1000)
                  : fmt::format("the spawner process (PID {}) is gone", pid_);
      close_socket();
      return -1;
    }
    if (type == kStarted) return static_cast<pid_t>(std::strtol(text.c_str(), nullptr, 10));
    if (type == kFailed) {
      error_number = std::atoi(text.c_str());
      error = std::strerror(error_number);
      return -1;
    }
    // kEnded: an earlier child's end, which nobody waits for any more.
  }
}

void Spawner::kill(pid_t child) {
  if (socket_ >= 0) records::send(socket_, kKill, std::to_string(child));
}

std::optional<int> Spawner::wait_exit(pid_t child, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (socket_ >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    char type = 0;
    std::string text;
    int fd = -1;
    const Received got = records::receive(socket_, type, text, fd, static_cast<int>(left.count()));
    if (fd >= 0) ::close(fd);
    if (got == Received::timeout) return std::nullopt;
    if (got != Received::record) {
      close_socket();
      return std::nullopt;
    }
    long pid = 0;
    int status = 0;
    if (type == kEnded && std::sscanf(text.c_str(), "%ld %d", &pid, &status) == 2 &&
        pid == child) {
      return status;
    }
  }
  return std::nullopt;
}

}  // namespace httpapi::daemon
