// Records over a SOCK_SEQPACKET socket, so each arrives whole: a type byte and a text, with at
// most one descriptor riding along (SCM_RIGHTS). The upgrade's hand-over socket
// (handover_channel.hpp) and the spawner's (spawner.hpp) both speak it.
#pragma once

#include <string>
#include <string_view>

namespace httpapi::daemon::records {

enum class Received { record, closed, timeout, error };

// Sends one record with `descriptor` attached (-1: none). False when the peer is gone; a
// full socket buffer is waited out for up to a second.
bool send(int socket, char type, std::string_view text, int descriptor = -1);
// Receives one record: its type, text and attached descriptor (-1 when none; close-on-exec,
// the caller owns it). `timeout_ms` < 0 waits forever, 0 does not wait.
Received receive(int socket, char& type, std::string& text, int& descriptor, int timeout_ms);

}  // namespace httpapi::daemon::records
