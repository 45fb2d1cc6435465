// Least privilege (issue 14). Started as root, httpapid hands its directories to the
// service account (--user, normally `httpapi`) and becomes it, keeping one capability:
// CAP_NET_BIND_SERVICE, since ports below 1024 are opened whenever an application
// registers a URL. Nothing else needs root later: key material comes through httpcfg,
// which the administrator runs, and applications are told apart by SO_PEERCRED, which
// reads the peer, not this process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace httpapi::daemon {

struct ServiceAccount {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The account named `name` from the user database; nullopt with `error` saying what to do
// when there is none.
std::optional<ServiceAccount> find_service_account(const std::string& name, std::string& error);

// Gives `directories`, and the files directly in them, to the account (lchown: a link
// planted there is not followed). `files` are single files elsewhere (a --config-db).
// Needs CAP_CHOWN unless they are the account's already; false with `error` otherwise.
bool hand_over(const ServiceAccount& account, const std::vector<std::string>& directories,
               const std::vector<std::string>& files, std::string& error);

// Becomes the account (no supplementary groups) keeping exactly CAP_NET_BIND_SERVICE,
// effective and permitted, none inheritable or ambient, and the bounding set cut to it
// where allowed. Started as the account already (systemd's User= with
// AmbientCapabilities=) only the capabilities are trimmed. Before any thread starts:
// capabilities belong to a thread.
bool become(const ServiceAccount& account, std::string& error);

// In the spawner (control/spawner.hpp), the process that starts the next httpapid of an
// upgrade: CAP_NET_BIND_SERVICE, when this process holds it, goes into its inheritable and
// ambient sets, so that the program it starts keeps it (the execve of a program without file
// capabilities by a user other than root keeps the ambient set only), and out of its
// effective set (it binds nothing itself). Nothing else is passed on. As root nothing is
// done: root's execve gives root's capabilities anyway. False with `error` when it is held
// but cannot be passed on.
bool pass_on_bind_capability(std::string& error);

// PR_SET_NO_NEW_PRIVS: nothing this process could execute gains privileges.
bool forbid_new_privileges(std::string& error);

}  // namespace httpapi::daemon
