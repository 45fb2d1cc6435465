// A client connection's byte stream, below the protocol session (DESIGN.md §3): the session
// reads and writes bytes and file ranges through it and never touches the socket itself, so
// a TLS transport (src/tls) can take the place of plain TCP with nothing above it changed.
//
// Calls follow the system calls they stand for: a count, 0 for the peer's end of stream
// (read only), or -1 with errno set (EAGAIN when the call would block). Loop thread only.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tls/session_info.hpp"

namespace httpapi::daemon {

class Transport {
 public:
  virtual ~Transport() = default;

  // The descriptor the event loop watches; -1 once closed.
  virtual int descriptor() const noexcept = 0;

  virtual ssize_t read(char* buffer, std::size_t size) = 0;
  virtual ssize_t write(std::span<const iovec> parts) = 0;
  // Up to `length` bytes of `file` from `offset` (advanced by what was sent). 0 means the
  // file ended before the range did.
  virtual ssize_t send_file(int file, std::uint64_t& offset, std::size_t length) = 0;

  // Holds partial segments back while a head and a file body are queued, so they go out in
  // full-sized segments (nginx's tcp_nopush); releasing sends what is held.
  virtual void set_cork(bool on) = 0;
  // No more bytes from us; the peer may still send.
  virtual void shutdown_write() = 0;
  // The next close resets the connection instead of ending it in order.
  virtual void reset_on_close() = 0;
  virtual void close() = 0;
  // Gives up the socket without closing it (an upgrade hands it to the new httpapid):
  // the descriptor, or -1 when this transport holds state the socket alone does not (TLS).
  virtual int release() noexcept { return -1; }

  // What the TLS handshake settled; nullptr on plain TCP and until the handshake is done.
  virtual const tls::SessionInfo* tls_session() const noexcept { return nullptr; }

  // A transport with a protocol of its own (TLS) has needs the connection must serve:
  // Still setting up: no bytes for the session yet, and the header-wait timer runs.
  virtual bool handshaking() const noexcept { return false; }
  // The last read stopped because the transport must write (a handshake message): the
  // connection watches for writability and reads again then.
  virtual bool read_wants_writable() const noexcept { return false; }
  // Input already taken from the socket but not yet returned by read: epoll cannot tell.
  virtual bool has_buffered_input() const noexcept { return false; }
  // A read that returned less than it was asked for took all the socket held, so the loop
  // may watch the socket edge-triggered: the kernel then skips re-polling it after every
  // read. False for TLS, whose reads return one record and may leave more in the socket.
  virtual bool short_read_drains() const noexcept { return false; }
  // After a write that would block, the next write must offer at least this many of the
  // same bytes again (a TLS record cannot be taken back); 0 when free.
  virtual std::size_t must_repeat() const noexcept { return 0; }
  // Why the transport failed, for the error log ("TLS_Handshake_Failed: no shared cipher");
  // empty when it did not or when errno says it all.
  virtual std::string_view failure() const noexcept { return {}; }

  ssize_t write(const char* data, std::size_t size) {
    const iovec part{const_cast<char*>(data), size};
    return write(std::span<const iovec>(&part, 1));
  }
};

}  // namespace httpapi::daemon
