// The socket between an httpapid and the one replacing it during `httpcfg upgrade`
// (docs/operations.md, "Upgrades"): a SOCK_SEQPACKET pair, so each record arrives whole, with
// at most one descriptor riding along (SCM_RIGHTS). A record is a type byte and its text.
#pragma once

#include <string>
#include <string_view>

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

enum class Received { record, closed, timeout, error };

// Sends one record with `descriptor` attached (-1: none). False when the peer is gone.
bool send(int socket, Record type, std::string_view text, int descriptor = -1);
// Receives one record: its type, text and attached descriptor (-1 when none; the caller
// owns it). `timeout_ms` < 0 waits forever, 0 does not wait.
Received receive(int socket, Record& type, std::string& text, int& descriptor, int timeout_ms);

// The environment variable that tells a starting httpapid which descriptor is its end of
// the hand-over socket (set by the process it replaces, removed once read).
inline constexpr const char* kEnvironment = "HTTPAPID_UPGRADE_FD";

}  // namespace httpapi::daemon::handover
