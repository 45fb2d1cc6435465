#include "daemon/privilege.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace httpapi::daemon {
namespace {

std::string errno_text() { return std::strerror(errno); }

constexpr std::uint64_t kBind = std::uint64_t{1} << CAP_NET_BIND_SERVICE;

// capset(2) directly: libcap would be a dependency for one call. Version 3 takes two
// 32-bit words per set.
bool set_capabilities(std::uint64_t effective, std::uint64_t permitted,
                      std::uint64_t inheritable = 0) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  data[0].effective = static_cast<std::uint32_t>(effective);
  data[1].effective = static_cast<std::uint32_t>(effective >> 32);
  data[0].permitted = static_cast<std::uint32_t>(permitted);
  data[1].permitted = static_cast<std::uint32_t>(permitted >> 32);
  data[0].inheritable = static_cast<std::uint32_t>(inheritable);
  data[1].inheritable = static_cast<std::uint32_t>(inheritable >> 32);
  return ::syscall(SYS_capset, &header, data) == 0;
}

struct CapabilitySets {
  std::uint64_t permitted = ~std::uint64_t{0};  // all, when they cannot be read
  std::uint64_t inheritable = 0;
};

CapabilitySets current_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return {};
  return {data[0].permitted | (std::uint64_t{data[1].permitted} << 32),
          data[0].inheritable | (std::uint64_t{data[1].inheritable} << 32)};
}

std::uint64_t permitted_capabilities() { return current_capabilities().permitted; }

// Drops every capability but `keep` from the bounding set, which needs CAP_SETPCAP: under
// systemd the unit's CapabilityBoundingSet= has done it already and EPERM is expected.
void cut_bounding_set(int keep) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (cap == keep) continue;
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;  // absent, or not a cap
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return;
  }
}

bool give(const ServiceAccount& account, const std::string& path, std::string& error) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return true;  // gone meanwhile
  if (st.st_uid == account.uid && st.st_gid == account.gid) return true;
  if (::lchown(path.c_str(), account.uid, account.gid) == 0) return true;
  error = fmt::format("cannot give {} to {}: {}", path, account.name, errno_text());
  return false;
}

}  // namespace

std::optional<ServiceAccount> find_service_account(const std::string& name, std::string& error) {
  errno = 0;
  const passwd* entry = ::getpwnam(name.c_str());
  if (!entry) {
    error = errno != 0 && errno != ENOENT && errno != ESRCH
                ? fmt::format("cannot look up the user '{}': {}", name, errno_text())
                : fmt::format("there is no user '{}'; create it (adduser --system --group "
                              "--no-create-home {}) or name another with --user",
                              name, name);
    return std::nullopt;
  }
  return ServiceAccount{name, entry->pw_uid, entry->pw_gid};
}

bool hand_over(const ServiceAccount& account, const std::vector<std::string>& directories,
               const std::vector<std::string>& files, std::string& error) {
  namespace fs = std::filesystem;
  for (const std::string& directory : directories) {
    if (!give(account, directory, error)) return false;
    std::error_code failure;
    for (const fs::directory_entry& entry : fs::directory_iterator(directory, failure)) {
      const fs::file_type type = entry.symlink_status(failure).type();
      // Sub-directories are not httpapid's (its log directory is handed over by itself).
      if (type != fs::file_type::regular && type != fs::file_type::socket) continue;
      if (!give(account, entry.path().string(), error)) return false;
    }
    if (failure) {
      error = fmt::format("cannot read the directory {}: {}", directory, failure.message());
      return false;
    }
  }
  for (const std::string& file : files) {
    if (!give(account, file, error)) return false;
  }
  return true;
}

bool become(const ServiceAccount& account, std::string& error) {
  uid_t real = 0, effective = 0, saved = 0;
  ::getresuid(&real, &effective, &saved);
  const bool already = real == account.uid && effective == account.uid && saved == account.uid;
  if (!already) {
    if (effective != 0) {
      error = fmt::format("--user {} needs httpapid to start as root (it runs as uid {})",
                          account.name, effective);
      return false;
    }
    cut_bounding_set(CAP_NET_BIND_SERVICE);
    // Keep the permitted set across the change of uid; the effective set is emptied by it.
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 ||
        ::setresgid(account.gid, account.gid, account.gid) != 0 ||
        ::setresuid(account.uid, account.uid, account.uid) != 0) {
      error = fmt::format("cannot become the user {}: {}", account.name, errno_text());
      return false;
    }
    ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  const std::uint64_t bind = kBind;
  const std::uint64_t held = permitted_capabilities();
  if (!set_capabilities(bind & held, bind & held) && (held & ~bind) != 0) {
    // Only a set with more than the one capability must shrink. Under systemd with its
    // own filter (capset in ~@privileged fails with EPERM) the unit's
    // CapabilityBoundingSet= has made it so already; only the inheritable copy of
    // AmbientCapabilities= stays there, which nothing can use without exec.
    error = fmt::format("cannot set the capabilities: {}", errno_text());
    return false;
  }
  // A way back to root would mean the change did not happen.
  if (account.uid != 0 && ::setresuid(0, 0, 0) == 0) {
    error = "the change of user did not hold: root could be taken back";
    return false;
  }
  return true;
}

bool pass_on_bind_capability(std::string& error) {
  if (::geteuid() == 0) return true;
  const CapabilitySets held = current_capabilities();
  if ((held.permitted & kBind) == 0) return true;  // the service has none to pass on
  // The ambient set takes only what is permitted and inheritable. Under systemd's
  // SystemCallFilter= capset fails (EPERM), but there AmbientCapabilities= has left it
  // inheritable already.
  if (!set_capabilities(0, kBind, kBind) && (held.inheritable & kBind) == 0) {
    error = fmt::format("cannot make CAP_NET_BIND_SERVICE inheritable: {}", errno_text());
    return false;
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) != 0) {
    error = fmt::format("cannot raise CAP_NET_BIND_SERVICE in the ambient set: {}",
                        errno_text());
    return false;
  }
  return true;
}

bool forbid_new_privileges(std::string& error) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) return true;
  error = fmt::format("cannot set no_new_privs: {}", errno_text());
  return false;
}

}  // namespace httpapi::daemon
