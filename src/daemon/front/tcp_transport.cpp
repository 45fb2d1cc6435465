#include "daemon/front/tcp_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "daemon/front/socket_options.hpp"

namespace httpapi::daemon {

// recv rather than read: the same bytes, without the file layer's detour (vfs_read,
// sock_read_iter) on every call.
ssize_t TcpTransport::read(char* buffer, std::size_t size) {
  return ::recv(socket_, buffer, size, 0);
}

// sendmsg rather than writev: MSG_NOSIGNAL, so a client gone away is EPIPE, not SIGPIPE.
ssize_t TcpTransport::write(std::span<const iovec> parts) {
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(parts.data());
  message.msg_iovlen = parts.size() < IOV_MAX ? parts.size() : IOV_MAX;
  return ::sendmsg(socket_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
}

ssize_t TcpTransport::send_file(int file, std::uint64_t& offset, std::size_t length) {
  off_t at = static_cast<off_t>(offset);
  const ssize_t n = ::sendfile(socket_, file, &at, length);
  if (n > 0) offset = static_cast<std::uint64_t>(at);
  return n;
}

void TcpTransport::set_cork(bool on) { set_tcp_cork(socket_, on); }

void TcpTransport::shutdown_write() { ::shutdown(socket_, SHUT_WR); }

void TcpTransport::reset_on_close() { daemon::reset_on_close(socket_); }

void TcpTransport::close() {
  if (socket_ < 0) return;
  ::close(socket_);
  socket_ = -1;
}

}  // namespace httpapi::daemon
