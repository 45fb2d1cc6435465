// Who holds a TCP port that httpapid could not bind (a sharing violation): the listening
// sockets of /proc/net/tcp and /proc/net/tcp6 on that port whose address overlaps the one
// wanted, and the program each belongs to, found by the socket's inode among the links of
// /proc/PID/fd. An unprivileged service user may not read other users' /proc/PID/fd: the
// answer then says so and names the address and the uid only. Service loop, error path only
// (it reads every process's descriptor table).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace httpapi::daemon {

struct ProcListener {
  std::string address;  // "127.0.0.4", "0.0.0.0", "::1", "::" (IPv4-mapped as a dotted quad)
  std::uint16_t port = 0;
  std::uint32_t uid = 0;
  std::uint64_t inode = 0;
};

// The LISTEN rows of the text of /proc/net/tcp (`v6` false) or /proc/net/tcp6. Pure; rows
// it cannot read are skipped.
std::vector<ProcListener> parse_proc_listeners(std::string_view text, bool v6);

// Do a socket on `wanted` (a BindAddress::address: "" every address, "0.0.0.0", "::" or one
// address) and one listening on `held` (a ProcListener::address) collide on one port?
// "::" held is taken as dual-stack: /proc does not say whether it is IPv6-only.
bool overlaps(const std::string& wanted, const std::string& held);

// "python3 (pid 4242) listens on 127.0.0.4:8080", one clause per holder joined by "; ",
// leaving out httpapid's own sockets; "" when /proc names nobody.
std::string describe_port_holder(const std::string& wanted, std::uint16_t port);

}  // namespace httpapi::daemon
