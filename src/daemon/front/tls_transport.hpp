// TLS over TCP with OpenSSL: the same byte stream as TcpTransport, encrypted. The handshake
// runs inside the first reads, so the connection and the protocol session above never see
// it; they see no bytes until it is done. The contexts (which binding, which certificate)
// are chosen per ClientHello by tls::ServerContexts.
//
// Where the kernel offers TLS (kTLS), OpenSSL hands the record layer to it after the
// handshake and file ranges go out with sendfile; elsewhere they are read and encrypted in
// record-sized pieces.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "daemon/front/transport.hpp"
#include "daemon/policy/handshake_limit.hpp"
#include "tls/server_contexts.hpp"

namespace httpapi::daemon {

class TlsTransport final : public Transport {
 public:
  // `slot` counts the handshake against its source until it finishes.
  TlsTransport(int socket, std::shared_ptr<const tls::ServerContexts> contexts,
               HandshakeLimit::Slot slot = {});
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  int descriptor() const noexcept override { return socket_; }
  ssize_t read(char* buffer, std::size_t size) override;
  ssize_t write(std::span<const iovec> parts) override;
  ssize_t send_file(int file, std::uint64_t& offset, std::size_t length) override;
  void set_cork(bool on) override;
  void shutdown_write() override;
  void reset_on_close() override;
  void close() override;
  using Transport::write;

  const tls::SessionInfo* tls_session() const noexcept override {
    return established_ ? &session_ : nullptr;
  }
  bool handshaking() const noexcept override { return !established_; }
  bool read_wants_writable() const noexcept override { return read_wants_write_; }
  bool has_buffered_input() const noexcept override;
  std::size_t must_repeat() const noexcept override { return repeat_; }
  std::string_view failure() const noexcept override { return failure_; }
  bool kernel_tls() const noexcept { return kernel_send_; }

 private:
  bool handshake();
  void describe_session();
  // -1 with errno set from the SSL call's result `r`; records why a connection failed.
  ssize_t fail(int r, const char* during);
  ssize_t write_record(const char* data, std::size_t size);

  int socket_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<const tls::ServerContexts> contexts_;  // the SSL's callbacks live there
  HandshakeLimit::Slot handshake_slot_;
  bool established_ = false;
  bool read_wants_write_ = false;
  // The last read stopped because the caller's buffer was full, not because OpenSSL needed
  // more from the socket: what it holds may be whole records.
  bool read_stopped_full_ = false;
  bool kernel_send_ = false;
  std::size_t repeat_ = 0;  // a record OpenSSL could not finish: the next write repeats it
  std::string failure_;
  tls::SessionInfo session_;
};

}  // namespace httpapi::daemon
