// The socket between an httpapid and the one replacing it during `httpcfg upgrade`
// (docs/operations.md, "Upgrades"): a SOCK_SEQPACKET pair, so each record arrives whole, with
// at most one descriptor riding along (SCM_RIGHTS). A record is a type byte and its text.
#pragma once

#include <string>
#include <string_view>

#include "daemon/control/record_socket.hpp"

namespace httpapi::daemon::handover {

// The record types, in the order a hand-over uses them.
enum class Record : char {
  hello = 'H',       // new -> old: started, store open; send the state
  state = 'S',       // old -> new: the URL groups and queues to hold (JSON)
  control = 'C',     // old -> new: the control socket's listening descriptor
  listener = 'L',    // old -> new: a listening socket, "PORT SECURE(0|1)"
  end = 'E',         // old -> new: nothing more before the switch
  taken = 'K',       // new -> old: serving now; text is its PID
  failed = 'F',      // new -> old: could not take over; text says why
  connection = 'A',  // old -> new: an idle plain HTTP/1.1 client connection
};

using Received = records::Received;

// records::send and records::receive with this socket's record types.
inline bool send(int socket, Record type, std::string_view text, int descriptor = -1) {
  return records::send(socket, static_cast<char>(type), text, descriptor);
}
inline Received receive(int socket, Record& type, std::string& text, int& descriptor,
                        int timeout_ms) {
  char got = 0;
  const Received received = records::receive(socket, got, text, descriptor, timeout_ms);
  type = static_cast<Record>(got);
  return received;
}

// The environment variable that tells a starting httpapid which descriptor is its end of
// the hand-over socket (set by the process it replaces, removed once read).
inline constexpr const char* kEnvironment = "HTTPAPID_UPGRADE_FD";

}  // namespace httpapi::daemon::handover
