#include "daemon/control/record_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace httpapi::daemon::records {

bool send(int socket, char type, std::string_view text, int descriptor) {
  std::string record(1, type);
  record += text;
  iovec part{record.data(), record.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  if (descriptor >= 0) {
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &descriptor, sizeof(int));
  }
  for (;;) {
    if (::sendmsg(socket, &message, MSG_NOSIGNAL) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return false;
    pollfd writable{socket, POLLOUT, 0};  // a burst of connections filled the buffer
    if (::poll(&writable, 1, 1000) <= 0) return false;
  }
}

Received receive(int socket, char& type, std::string& text, int& descriptor, int timeout_ms) {
  descriptor = -1;
  pollfd readable{socket, POLLIN, 0};
  const int ready = ::poll(&readable, 1, timeout_ms);
  if (ready == 0) return Received::timeout;
  if (ready < 0) return errno == EINTR ? Received::timeout : Received::error;
  // The record's whole length (MSG_TRUNC), so the buffer fits it exactly.
  const ssize_t length = ::recv(socket, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
  if (length < 0) return errno == EAGAIN || errno == EINTR ? Received::timeout : Received::error;
  if (length == 0) return Received::closed;
  std::string buffer(static_cast<std::size_t>(length), '\0');
  iovec part{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  ssize_t n;
  do {
    n = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN ? Received::timeout : Received::error;
  if (n == 0) return Received::closed;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&descriptor, CMSG_DATA(header), sizeof(int));
    }
  }
  type = buffer[0];
  text.assign(buffer.data() + 1, static_cast<std::size_t>(n) - 1);
  return Received::record;
}

}  // namespace httpapi::daemon::records
