#include "daemon/front/tls_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "daemon/front/socket_options.hpp"

namespace httpapi::daemon {
namespace {

// The plaintext of one TLS record (RFC 8446 §5.1): OpenSSL writes one per call in partial
// write mode, and a record it could not finish must be offered again whole.
constexpr std::size_t kRecord = 16384;

std::string rfc4514(X509_NAME* name) {
  BIO* out = BIO_new(BIO_s_mem());
  if (!out) return {};
  X509_NAME_print_ex(out, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<std::size_t>(size > 0 ? size : 0));
  BIO_free(out);
  return text;
}

}  // namespace

TlsTransport::TlsTransport(int socket, std::shared_ptr<const tls::ServerContexts> contexts,
                           HandshakeLimit::Slot slot)
    : socket_(socket), contexts_(std::move(contexts)), handshake_slot_(std::move(slot)) {
  if (contexts_) ssl_ = contexts_->accept(socket_, &failure_);
  if (!ssl_ && failure_.empty()) {
    failure_ = contexts_ ? "TLS_Error: out of memory"
                         : "TLS_No_Binding: no certificate binding exists (httpcfg sslcert add)";
  }
}

TlsTransport::~TlsTransport() { close(); }

ssize_t TlsTransport::read(char* buffer, std::size_t size) {
  read_wants_write_ = false;
  if (!ssl_) {
    errno = EPROTO;
    return -1;
  }
  ERR_clear_error();
  read_stopped_full_ = false;
  if (!established_) {
    if (!handshake()) {
      // A client that left before sending a byte (a port check, a balancer's TCP probe) just
      // ended its stream: nothing to log.
      if (errno != EAGAIN && BIO_number_read(SSL_get_rbio(ssl_)) == 0) {
        failure_.clear();
        return 0;
      }
      return -1;
    }
    // The client's Finished came alone: its request is not here yet, and asking the socket
    // for it now costs a read that answers EAGAIN (epoll says when it comes).
    if (SSL_has_pending(ssl_) != 1) {
      errno = EAGAIN;
      return -1;
    }
  }
  std::size_t total = 0;
  while (total < size) {
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl_, buffer + total, size - total, &n);
    if (r == 1) {
      total += n;
      // Read-ahead took what the socket had; when none of it is left, another SSL_read would
      // only ask the socket again and get EAGAIN: a system call per request for nothing (a
      // TLS socket is watched level-triggered, Transport::short_read_drains: epoll says when
      // more comes). Bulk input (a record's worth or more) keeps reading until the socket is
      // empty, as before, to drain it per wake-up.
      if (total < kRecord && SSL_has_pending(ssl_) != 1) break;
      continue;
    }
    const int error = SSL_get_error(ssl_, r);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      read_wants_write_ = error == SSL_ERROR_WANT_WRITE;
      break;
    }
    if (total > 0) break;  // the end or the error is seen again by the next read
    if (error == SSL_ERROR_ZERO_RETURN) return 0;
    return fail(r, "TLS_Error");
  }
  if (total == 0) {
    errno = EAGAIN;
    return -1;
  }
  read_stopped_full_ = total == size;
  return static_cast<ssize_t>(total);
}

bool TlsTransport::handshake() {
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    handshake_slot_.release();
    kernel_send_ = BIO_get_ktls_send(SSL_get_wbio(ssl_)) > 0;
    describe_session();
    return true;
  }
  const int error = SSL_get_error(ssl_, r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    read_wants_write_ = error == SSL_ERROR_WANT_WRITE;
    errno = EAGAIN;
    return false;
  }
  fail(r, "TLS_Handshake_Failed");
  return false;
}

// The reason goes to the error log: the library's own words for what the client did wrong
// ("unsupported protocol", "http request", "no shared cipher"), unless the binding choice
// already said why.
ssize_t TlsTransport::fail(int r, const char* during) {
  const int error = SSL_get_error(ssl_, r);
  const int saved = errno;
  if (failure_.empty()) {
    const unsigned long code = ERR_peek_last_error();
    if (error == SSL_ERROR_SSL && code != 0) {
      const char* reason = ERR_reason_error_string(code);
      failure_ = fmt::format("{}: {}", during, reason ? reason : "protocol error");
    } else if (error == SSL_ERROR_SYSCALL && saved != 0) {
      failure_ = fmt::format("{}: {}", during, std::strerror(saved));
    } else {
      failure_ = fmt::format("{}: the client closed the connection", during);
    }
  }
  ERR_clear_error();
  errno = error == SSL_ERROR_SYSCALL && saved != 0 ? saved : EPROTO;
  return -1;
}

void TlsTransport::describe_session() {
  session_.protocol = SSL_get_version(ssl_);
  session_.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_));
  if (const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) {
    session_.sni = name;
  }
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_length);
  if (alpn) session_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  session_.resumed = SSL_session_reused(ssl_) == 1;
  if (X509* peer = SSL_get0_peer_certificate(ssl_)) {
    tls::ClientCertificate certificate;
    unsigned char* der = nullptr;
    const int length = i2d_X509(peer, &der);
    if (length > 0) {
      certificate.der.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    }
    OPENSSL_free(der);
    certificate.subject = rfc4514(X509_get_subject_name(peer));
    certificate.issuer = rfc4514(X509_get_issuer_name(peer));
    certificate.verified = SSL_get_verify_result(ssl_) == X509_V_OK;
    session_.client_certificate = std::move(certificate);
  }
}

ssize_t TlsTransport::write_record(const char* data, std::size_t size) {
  size = std::min(size, kRecord);
  std::size_t written = 0;
  const int r = SSL_write_ex(ssl_, data, size, &written);
  if (r == 1) {
    repeat_ = 0;
    return static_cast<ssize_t>(written);
  }
  const int error = SSL_get_error(ssl_, r);
  if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
    repeat_ = std::max(repeat_, size);
    errno = EAGAIN;
    return -1;
  }
  return fail(r, "TLS_Error");
}

ssize_t TlsTransport::write(std::span<const iovec> parts) {
  if (!established_) {
    errno = ENOTCONN;  // nothing may be sent before the handshake is done
    return -1;
  }
  ERR_clear_error();
  std::size_t total = 0;
  for (const iovec& part : parts) {
    const char* data = static_cast<const char*>(part.iov_base);
    for (std::size_t done = 0; done < part.iov_len;) {
      const ssize_t n = write_record(data + done, part.iov_len - done);
      if (n < 0) return total > 0 ? static_cast<ssize_t>(total) : -1;
      done += static_cast<std::size_t>(n);
      total += static_cast<std::size_t>(n);
    }
  }
  return static_cast<ssize_t>(total);
}

// Without kernel TLS the file's bytes must pass through here to be encrypted, a few records at
// a time; what could not be sent is read again from its offset by the next call.
ssize_t TlsTransport::send_file(int file, std::uint64_t& offset, std::size_t length) {
  if (!established_) {
    errno = ENOTCONN;
    return -1;
  }
  ERR_clear_error();
  if (kernel_send_) {
    const ossl_ssize_t n =
        SSL_sendfile(ssl_, file, static_cast<off_t>(offset), length, 0);
    if (n > 0) offset += static_cast<std::uint64_t>(n);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
    return n < 0 ? fail(static_cast<int>(n), "TLS_Error") : static_cast<ssize_t>(n);
  }
  // Four records per read of the file: half the preads of one per record.
  thread_local char piece[4 * kRecord];
  const ssize_t got =
      ::pread(file, piece, std::min(length, sizeof piece), static_cast<off_t>(offset));
  if (got <= 0) return got;
  const ssize_t n = write(piece, static_cast<std::size_t>(got));
  if (n > 0) offset += static_cast<std::uint64_t>(n);
  return n;
}

// OpenSSL reads ahead, so whole records may wait in its buffer while the socket is empty. But
// when the last read ended wanting more from the socket, what it holds is an incomplete
// record, which only more input (announced by epoll) can finish.
bool TlsTransport::has_buffered_input() const noexcept {
  return ssl_ && established_ && read_stopped_full_ && SSL_has_pending(ssl_) == 1;
}

void TlsTransport::set_cork(bool on) { set_tcp_cork(socket_, on); }

// close_notify first, so the client can tell our end from a truncation.
void TlsTransport::shutdown_write() {
  if (established_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  ::shutdown(socket_, SHUT_WR);
}

void TlsTransport::reset_on_close() { daemon::reset_on_close(socket_); }

void TlsTransport::close() {
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (socket_ < 0) return;
  ::close(socket_);
  socket_ = -1;
}

}  // namespace httpapi::daemon
