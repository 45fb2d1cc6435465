#include "daemon/control/port_holder.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "daemon/control/bind_plan.hpp"

namespace httpapi::daemon {
namespace {

constexpr std::string_view kListenState = "0A";  // TCP_LISTEN as /proc/net/tcp prints it

bool parse_hex(std::string_view text, std::uint32_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return error == std::errc() && end == text.data() + text.size();
}

// The kernel prints each 32-bit word of the address as it lies in memory, read as a number
// of the host's byte order: copying the number back into memory restores the bytes.
bool parse_address(std::string_view hex, bool v6, std::string& out) {
  const std::size_t words = v6 ? 4 : 1;
  if (hex.size() != words * 8) return false;
  unsigned char bytes[16] = {};
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t word = 0;
    if (!parse_hex(hex.substr(i * 8, 8), word)) return false;
    std::memcpy(bytes + i * 4, &word, 4);
  }
  char text[INET6_ADDRSTRLEN] = {};
  constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (v6 && std::memcmp(bytes, kMapped, sizeof kMapped) == 0) {
    if (!inet_ntop(AF_INET, bytes + 12, text, sizeof text)) return false;
  } else if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, text, sizeof text)) {
    return false;
  }
  out = text;
  return true;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool parse_row(std::string_view line, bool v6, ProcListener& out) {
  // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
  const std::vector<std::string_view> f = fields(line);
  if (f.size() < 10 || f[3] != kListenState) return false;
  const std::size_t colon = f[1].find(':');
  if (colon == std::string_view::npos) return false;
  std::uint32_t port = 0;
  std::uint64_t inode = 0;
  if (!parse_address(f[1].substr(0, colon), v6, out.address) ||
      !parse_hex(f[1].substr(colon + 1), port) || port > 65535) {
    return false;
  }
  const auto uid = std::from_chars(f[7].data(), f[7].data() + f[7].size(), out.uid);
  const auto ino = std::from_chars(f[9].data(), f[9].data() + f[9].size(), inode);
  if (uid.ec != std::errc() || ino.ec != std::errc()) return false;
  out.port = static_cast<std::uint16_t>(port);
  out.inode = inode;
  return true;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The inodes of the sockets among /proc/PID/fd; false when that directory cannot be read.
bool socket_inodes(const std::string& pid, std::set<std::uint64_t>& out) {
  const std::string directory = "/proc/" + pid + "/fd";
  DIR* fds = opendir(directory.c_str());
  if (!fds) return false;
  while (const dirent* entry = readdir(fds)) {
    char link[64] = {};
    const std::string path = directory + "/" + entry->d_name;
    const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
    std::uint64_t inode = 0;
    // "socket:[12345]"
    if (n > 9 && std::strncmp(link, "socket:[", 8) == 0 &&
        std::from_chars(link + 8, link + n - 1, inode).ec == std::errc()) {
      out.insert(inode);
    }
  }
  closedir(fds);
  return true;
}

struct Owner {
  std::string pid;
  std::string program;
};

// Which process holds each of `wanted`'s inodes, as far as this process may look.
std::map<std::uint64_t, Owner> owners(const std::set<std::uint64_t>& wanted) {
  std::map<std::uint64_t, Owner> out;
  DIR* proc = opendir("/proc");
  if (!proc) return out;
  while (const dirent* entry = readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::set<std::uint64_t> inodes;
    if (!socket_inodes(pid, inodes)) continue;
    for (const std::uint64_t inode : inodes) {
      if (!wanted.count(inode)) continue;
      std::string program = read_all("/proc/" + pid + "/comm");
      while (!program.empty() && program.back() == '\n') program.pop_back();
      out[inode] = {pid, program.empty() ? std::string("a program") : program};
    }
    if (out.size() == wanted.size()) break;
  }
  closedir(proc);
  return out;
}

}  // namespace

std::vector<ProcListener> parse_proc_listeners(std::string_view text, bool v6) {
  std::vector<ProcListener> out;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ProcListener listener;
    if (parse_row(line, v6, listener)) out.push_back(std::move(listener));
  }
  return out;
}

bool overlaps(const std::string& wanted, const std::string& held) {
  if (wanted.empty() || wanted == held || held == "::") return true;
  const bool wanted_v6 = wanted.find(':') != std::string::npos;
  const bool held_v6 = held.find(':') != std::string::npos;
  if (held == "0.0.0.0") return !wanted_v6;
  if (wanted == "0.0.0.0") return !held_v6;
  if (wanted == "::") return held_v6;
  return false;
}

std::string describe_port_holder(const std::string& wanted, std::uint16_t port) {
  std::vector<ProcListener> held;
  for (const bool v6 : {false, true}) {
    const std::string table = read_all(v6 ? "/proc/net/tcp6" : "/proc/net/tcp");
    for (ProcListener& l : parse_proc_listeners(table, v6)) {
      if (l.port == port && overlaps(wanted, l.address)) held.push_back(std::move(l));
    }
  }
  std::set<std::uint64_t> ours;
  socket_inodes("self", ours);
  std::set<std::uint64_t> foreign;
  for (const ProcListener& l : held) {
    if (!ours.count(l.inode)) foreign.insert(l.inode);
  }
  const std::map<std::uint64_t, Owner> found = owners(foreign);
  std::string out;
  for (const ProcListener& l : held) {
    if (ours.count(l.inode)) continue;
    if (!out.empty()) out += "; ";
    const std::string where = bind_address_text(l.address, port);
    if (const auto owner = found.find(l.inode); owner != found.end()) {
      out += fmt::format("{} (pid {}) listens on {}", owner->second.program, owner->second.pid,
                         where);
    } else {
      out += fmt::format("a program of uid {} listens on {} (httpapid, uid {}, may not read "
                         "its /proc/PID/fd to name it; `ss -ltnp` as root does)",
                         l.uid, where, getuid());
    }
  }
  return out;
}

}  // namespace httpapi::daemon
