// Drives TlsTransport as a client's peer would: arbitrary bytes arrive on the socket, the
// transport reads (running the handshake) and echoes whatever plaintext it gets, until the
// input is used up or the transport fails. Nothing may crash, leak or hang, whatever the
// records say; a failure must come with a reason for the error log.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "daemon/front/tls_transport.hpp"
#include "test_certificates.hpp"

namespace {

std::shared_ptr<const httpapi::tls::ServerContexts> contexts() {
  static const auto built = [] {
    signal(SIGPIPE, SIG_IGN);
    const httpapi::testing::TestKeyPair pair = httpapi::testing::make_certificate({});
    httpapi::tls::CertBinding binding;
    binding.host = "0.0.0.0";
    binding.port = 0;  // a socketpair has no port
    binding.certificates.push_back({pair.certificate_pem, pair.key_pem});
    std::vector<std::string> problems;
    auto made = httpapi::tls::ServerContexts::build(
        {binding}, std::make_shared<httpapi::tls::TicketKeys>(), problems);
    if (!made || !problems.empty()) std::abort();
    return made;
  }();
  return built;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) return 0;
  {
    httpapi::daemon::TlsTransport server(pair[0], contexts());
    const ssize_t written = ::write(pair[1], data, size);
    ::shutdown(pair[1], SHUT_WR);
    if (written < 0) std::abort();
    char buffer[4096];
    for (int round = 0; round < 64; ++round) {
      const ssize_t n = server.read(buffer, sizeof buffer);
      if (n > 0) {
        server.write(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EAGAIN && server.read_wants_writable()) continue;
      if (n < 0 && errno != EAGAIN && server.failure().empty() && errno != ECONNRESET &&
          errno != EPIPE) {
        std::abort();  // a failure the error log could not explain
      }
      break;
    }
  }
  ::close(pair[1]);
  return 0;
}
