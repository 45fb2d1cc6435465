#include "daemon/syscall_filter.hpp"

#include <seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace httpapi::daemon {
namespace {

// What the service does, by who needs it. Reviewed against strace -f of the integration
// suites run with --seccomp (tests/integration/test_privilege.py runs several that way).
constexpr const char* kAllowed[] = {
    // memory, threads, time (glibc, the allocator, std::thread)
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list",
    "get_robust_list", "rseq", "clone", "clone3", "set_tid_address", "exit", "exit_group",
    "sched_yield", "sched_getaffinity", "nanosleep", "clock_nanosleep", "clock_gettime",
    "clock_getres", "gettimeofday", "time", "getrandom", "membarrier", "arch_prctl", "prctl",
    "getrlimit", "prlimit64", "uname", "restart_syscall", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "sigaltstack", "tgkill", "gettid", "getpid", "getppid", "getuid",
    "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "sysinfo",
    // the event loops: epoll, eventfd, timerfd, signalfd
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2",
    "timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4", "poll", "ppoll",
    "select", "pselect6", "pipe2",
    // sockets: clients, the control socket, descriptors passed by applications, notify
    "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown",
    "getsockname", "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom",
    "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "sendfile", "splice", "ioctl",
    // descriptors and files: the store (SQLite), the logs, OpenSSL's configuration
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "close",
    "close_range", "dup", "dup2", "dup3", "fcntl", "flock", "fsync", "fdatasync", "ftruncate",
    "fallocate", "lseek", "open", "openat", "stat", "fstat", "lstat", "newfstatat", "statx",
    "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd",
    "mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "fchmod",
    "chmod", "fchown", "umask", "statfs", "fstatfs",
};

// Async-signal-safe: the number in decimal, by hand.
void report_and_exit(int, siginfo_t* info, void*) {
  char line[160] = "httpapid: system call ";
  std::size_t n = std::strlen(line);
  char digits[16];
  int count = 0;
  unsigned number = static_cast<unsigned>(info->si_syscall);
  do {
    digits[count++] = static_cast<char>('0' + number % 10);
    number /= 10;
  } while (number && count < 16);
  while (count) line[n++] = digits[--count];
  const char tail[] = " is not in the --seccomp allow-list (src/daemon/syscall_filter.cpp); "
                      "stopping\n";
  std::memcpy(line + n, tail, sizeof tail - 1);
  n += sizeof tail - 1;
  // Nothing to do if it fails: the exit status says SIGSYS anyway. (A (void) cast does not
  // quiet warn_unused_result, which _FORTIFY_SOURCE puts on write: the package build's.)
  if (::write(STDERR_FILENO, line, n) < 0) ::_exit(128 + SIGSYS);
  ::_exit(128 + SIGSYS);
}

}  // namespace

bool install_syscall_filter(std::string& error) {
  struct sigaction action {};
  action.sa_sigaction = report_and_exit;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSYS, &action, nullptr) != 0) {
    error = fmt::format("cannot catch SIGSYS: {}", std::strerror(errno));
    return false;
  }
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> filter(seccomp_init(SCMP_ACT_TRAP),
                                                          seccomp_release);
  if (!filter) {
    error = "seccomp_init failed";
    return false;
  }
  seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_TSYNC, 1);
  for (const char* name : kAllowed) {
    const int number = seccomp_syscall_resolve_name(name);
    if (number == __NR_SCMP_ERROR) continue;  // not on this architecture (open on arm64)
    if (const int rc = seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, number, 0); rc != 0) {
      error = fmt::format("seccomp: cannot allow {}: {}", name, std::strerror(-rc));
      return false;
    }
  }
  if (const int rc = seccomp_load(filter.get()); rc != 0) {
    error = fmt::format("cannot load the seccomp filter: {}", std::strerror(-rc));
    return false;
  }
  return true;
}

}  // namespace httpapi::daemon
