// Plain TCP: the transport's calls are the socket's system calls.
#pragma once

#include <utility>

#include "daemon/front/transport.hpp"

namespace httpapi::daemon {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(int socket) noexcept : socket_(socket) {}
  ~TcpTransport() override { close(); }
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  int descriptor() const noexcept override { return socket_; }
  ssize_t read(char* buffer, std::size_t size) override;
  bool short_read_drains() const noexcept override { return true; }
  ssize_t write(std::span<const iovec> parts) override;
  ssize_t send_file(int file, std::uint64_t& offset, std::size_t length) override;
  void set_cork(bool on) override;
  void shutdown_write() override;
  void reset_on_close() override;
  void close() override;
  int release() noexcept override { return std::exchange(socket_, -1); }
  using Transport::write;

 private:
  int socket_;
};

}  // namespace httpapi::daemon
