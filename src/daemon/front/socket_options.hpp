// Socket options both transports set the same way on their TCP socket.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace httpapi::daemon {

// TCP_CORK: partial segments wait while a head and a file body are queued (nginx's
// tcp_nopush); clearing it sends what is held.
inline void set_tcp_cork(int socket, bool on) {
  const int value = on ? 1 : 0;
  ::setsockopt(socket, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

// The next close resets the connection instead of ending it in order.
inline void reset_on_close(int socket) {
  const linger reset{1, 0};
  ::setsockopt(socket, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

}  // namespace httpapi::daemon
