// The spawner: the one way httpapid starts a program — the new httpapid of `httpcfg upgrade`
// (docs/operations.md, "Upgrades"). A process forked at start, after the change of user and
// before the --seccomp filter, so that it may execve while the service itself may not. It
// keeps what a new httpapid needs and nothing else:
//   - the service's user (never root if the service left root: it is forked after that);
//   - CAP_NET_BIND_SERVICE in its ambient set when the service holds it, so that the new
//     process may still bind ports below 1024 (privilege.hpp, pass_on_bind_capability);
//   - standard input, output and error and its end of a socket pair (descriptor 3): no
//     listening socket, no store, no client connection.
// It starts what it is asked to with posix_spawn (binary, arguments, environment, and one
// descriptor that becomes descriptor 3 there), answers with the PID or the errno, kills only
// a child of its own when asked, and reports each child's wait status as it ends, since
// only it may wait for them. It ends with the service: at EOF on its socket, or by
// PR_SET_PDEATHSIG (SIGKILL) when the service dies first. SIGHUP, which is for the service,
// is ignored.
//
// The service's side below is synchronous: the spawner answers at once (posix_spawn returns
// once the child has exec'd), and the service asks rarely. Service loop only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace httpapi::daemon {

class Spawner {
 public:
  // Forks the spawner. Before any thread starts (fork copies one thread only) and before
  // the filter. Not started (`error` says why) when fork or the socket pair fails.
  static Spawner fork_process(std::string& error);

  Spawner() = default;
  Spawner(Spawner&& other) noexcept;
  Spawner& operator=(Spawner&& other) noexcept;
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;
  // Closes the socket: the spawner sees EOF and exits.
  ~Spawner();

  pid_t pid() const noexcept { return pid_; }

  // The number a passed descriptor has in the started program (the spawner's own socket's,
  // which is close-on-exec).
  static constexpr int kChildDescriptor = 3;

  // Starts `binary` with `argv` (argv[0] included) and `environment`; `descriptor` (-1:
  // none) is kChildDescriptor in it, and nothing else but the standard streams is open. The PID, or -1 with
  // `error` (strerror's text of posix_spawn's errno, or why the spawner did not answer)
  // and `error_number` (the errno; 0 when the spawner is the problem).
  pid_t spawn(const std::string& binary, const std::vector<std::string>& argv,
              const std::vector<std::string>& environment, int descriptor, std::string& error,
              int& error_number);
  // SIGKILL to `child`, if it is a child of the spawner that has not been waited for.
  void kill(pid_t child);
  // `child`'s wait status once the spawner reports it, within `timeout_ms`; nullopt when it
  // has not ended by then (or the spawner is gone). Reports of other children are dropped.
  std::optional<int> wait_exit(pid_t child, int timeout_ms);

 private:
  Spawner(int socket, pid_t pid) : socket_(socket), pid_(pid) {}
  void close_socket() noexcept;

  int socket_ = -1;
  pid_t pid_ = 0;
};

}  // namespace httpapi::daemon
