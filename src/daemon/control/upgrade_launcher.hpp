// The old httpapid's side of `httpcfg upgrade` (docs/operations.md, "Upgrades"): has the
// spawner (spawner.hpp) start the new binary with this one's command line and one end of a
// hand-over socket, answers its hello with the state (the service's hook), and reports how
// it ended: taken over, or why not (it failed to start, said why, exited, or stayed silent
// past the deadline). Service loop only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace httpapi::daemon {

class EventLoop;
class Spawner;

class UpgradeLauncher {
 public:
  struct Hooks {
    // The new process said hello: send it the state and the sockets on `socket`.
    std::function<void(int socket)> send_state;
    // It took over (true, its PID in `message`) or failed (false, why).
    std::function<void(bool taken, const std::string& message)> finished;
  };
  UpgradeLauncher(EventLoop& loop, Spawner& spawner, Hooks hooks)
      : loop_(loop), spawner_(spawner), hooks_(std::move(hooks)) {}
  ~UpgradeLauncher();
  UpgradeLauncher(const UpgradeLauncher&) = delete;
  UpgradeLauncher& operator=(const UpgradeLauncher&) = delete;

  // Starts `binary` with `arguments` (argv[1..]). "" when it started, else why not.
  std::string start(const std::string& binary, const std::vector<std::string>& arguments);
  // Started and not failed: a second upgrade must wait (taken over: this process is
  // being replaced).
  bool busy() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }
  // After the take-over: the socket the idle connections go through; -1 before or when the
  // new process went away.
  int socket() const noexcept { return taken_ ? socket_ : -1; }
  // Once a second: the deadline for the take-over.
  void tick();

  static constexpr unsigned kDeadlineSeconds = 20;

 private:
  void on_readable();
  void fail(const std::string& why);
  // The child closed its end: its exit status, waited for briefly.
  std::string exit_text();

  EventLoop& loop_;
  Spawner& spawner_;  // the service's; it starts, kills and waits for the new process
  Hooks hooks_;
  int socket_ = -1;
  pid_t pid_ = 0;      // while busy
  pid_t child_ = 0;    // the latest one started
  bool reaped_ = false;
  std::string binary_;
  bool taken_ = false;
  unsigned seconds_left_ = 0;
};

}  // namespace httpapi::daemon
