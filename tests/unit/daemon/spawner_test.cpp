// The spawner (src/daemon/control/spawner.*): its own program, since it forks, and a fork
// must not copy a thread another test left holding a lock.
#include "daemon/control/spawner.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace httpapi::daemon {
namespace {

pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  char state = 0;
  pid_t parent = 0;
  rest >> state >> parent;
  return parent;
}

// What an upgrade relies on: when the old service has ended, the new httpapid its spawner
// started already has its new parent (systemd), which then hears how it exits. The spawner is
// held stopped while it is told to end, so a destructor that does not wait for it returns
// with the program still its child.
TEST(Spawner, AProgramItStartedHasItsNewParentOnceTheSpawnerIsDestroyed) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);  // orphans come here
  std::string error;
  std::optional<Spawner> spawner(Spawner::fork_process(error));
  ASSERT_GT(spawner->pid(), 0) << error;
  const pid_t spawner_pid = spawner->pid();
  int error_number = 0;
  const pid_t program =
      spawner->spawn("/bin/sleep", {"sleep", "30"}, {}, -1, error, error_number);
  ASSERT_GT(program, 0) << error;
  ASSERT_EQ(parent_of(program), spawner_pid);

  ASSERT_EQ(::kill(spawner_pid, SIGSTOP), 0);
  std::thread resume([spawner_pid] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(spawner_pid, SIGCONT);
  });
  spawner.reset();
  EXPECT_EQ(parent_of(program), ::getpid());
  resume.join();

  ::kill(program, SIGKILL);
  ::waitpid(program, nullptr, 0);
  ::waitpid(spawner_pid, nullptr, 0);
}

}  // namespace
}  // namespace httpapi::daemon
