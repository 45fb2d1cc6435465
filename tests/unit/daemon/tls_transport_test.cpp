// TlsTransport and tls::ServerContexts over real loopback TCP, with an OpenSSL client on a
// second thread: handshakes, binding choice, client certificates, resumption, and writes that
// must repeat a record after the socket filled.
#include "daemon/front/tls_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "test_certificates.hpp"

namespace httpapi::daemon {
namespace {

using testing::CertificateSpec;
using testing::make_certificate;
using testing::TestKeyPair;

struct ClientOptions {
  std::string sni = "localhost";
  int max_version = TLS1_3_VERSION;
  const TestKeyPair* certificate = nullptr;
  SSL_SESSION* resume = nullptr;
  bool offer_alpn = true;
};

struct ClientResult {
  bool connected = false;
  std::string error;
  std::string received;
  std::string peer_subject;
  SSL_SESSION* session = nullptr;  // owned by the caller when set
};

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as httpapid does: OpenSSL writes with write(2)
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener_, 16), 0);
    socklen_t length = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    server_pair_ = make_certificate({});
  }
  void TearDown() override { ::close(listener_); }

  tls::CertBinding any_address(const TestKeyPair& pair) const {
    tls::CertBinding binding;
    binding.host = "0.0.0.0";
    binding.port = port_;
    binding.certificates.push_back({pair.certificate_pem, pair.key_pem});
    return binding;
  }

  void use(std::vector<tls::CertBinding> bindings) {
    std::vector<std::string> problems;
    contexts_ = tls::ServerContexts::build(bindings, keys_, problems);
    ASSERT_TRUE(contexts_);
    ASSERT_TRUE(problems.empty()) << problems.front();
  }

  // Runs `client` on a thread against one accepted connection served by `serve`.
  ClientResult exchange(const ClientOptions& options,
                        const std::function<void(TlsTransport&)>& serve,
                        const std::function<void(SSL*, ClientResult&)>& talk) {
    ClientResult result;
    std::thread client([&] { run_client(options, talk, result); });
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    {
      TlsTransport transport(fd, contexts_);
      serve(transport);
    }
    client.join();
    return result;
  }

  void run_client(const ClientOptions& options,
                  const std::function<void(SSL*, ClientResult&)>& talk, ClientResult& result) {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(context, 0);
    SSL_CTX_set_cipher_list(context, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(context, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(context, options.max_version);
    // No client cache: freeing it would mark its sessions not resumable.
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
    if (options.certificate) {
      BIO* in = BIO_new_mem_buf(options.certificate->certificate_pem.data(), -1);
      X509* leaf = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
      BIO_free(in);
      in = BIO_new_mem_buf(options.certificate->key_pem.data(), -1);
      EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
      BIO_free(in);
      SSL_CTX_use_certificate(context, leaf);
      SSL_CTX_use_PrivateKey(context, key);
      X509_free(leaf);
      EVP_PKEY_free(key);
    }
    SSL* ssl = SSL_new(context);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    SSL_set_fd(ssl, fd);
    if (!options.sni.empty()) SSL_set_tlsext_host_name(ssl, options.sni.c_str());
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    if (options.offer_alpn) SSL_set_alpn_protos(ssl, alpn, sizeof alpn);
    if (options.resume) SSL_set_session(ssl, options.resume);
    if (SSL_connect(ssl) == 1) {
      result.connected = true;
      if (X509* peer = SSL_get0_peer_certificate(ssl)) {
        char line[256];
        X509_NAME_oneline(X509_get_subject_name(peer), line, sizeof line);
        result.peer_subject = line;
      }
      talk(ssl, result);
      result.session = SSL_get1_session(ssl);
      // No close_notify of ours: the server may be gone, and a failed send would mark the
      // session not resumable.
      SSL_set_quiet_shutdown(ssl, 1);
      SSL_shutdown(ssl);
    } else {
      char text[256];
      ERR_error_string_n(ERR_get_error(), text, sizeof text);
      result.error = text;
    }
    SSL_free(ssl);
    ::close(fd);
    SSL_CTX_free(context);
  }

  std::shared_ptr<tls::TicketKeys> keys_ = std::make_shared<tls::TicketKeys>();
  std::shared_ptr<const tls::ServerContexts> contexts_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  TestKeyPair server_pair_;
};

bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, 5000) == 1;
}

// Reads until `want` bytes arrived; false on end of stream, error or a 5 s stall.
bool read_exactly(TlsTransport& transport, std::string& into, std::size_t want) {
  char buffer[65536];
  while (into.size() < want) {
    const ssize_t n = transport.read(buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_for(transport.descriptor(),
                    transport.read_wants_writable() ? POLLOUT : POLLIN)) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

// Reads until the transport fails or ends; returns what read last returned.
ssize_t read_until_failure(TlsTransport& transport) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = transport.read(buffer, sizeof buffer);
    if (n > 0) continue;
    if (n < 0 && errno == EAGAIN && wait_for(transport.descriptor(), POLLIN)) continue;
    return n;
  }
}

std::string client_read_all(SSL* ssl, std::size_t want) {
  std::string data;
  char buffer[65536];
  while (data.size() < want) {
    const int n = SSL_read(ssl, buffer, sizeof buffer);
    if (n <= 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

std::string random_bytes(std::size_t size) {
  std::mt19937 generator(7);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(generator());
  return data;
}

TEST_F(TlsTransportTest, HandshakeThenBytesBothWaysWithWhatTheSessionSettled) {
  use({any_address(server_pair_)});
  std::string request;
  const ClientResult result = exchange(
      {},
      [&](TlsTransport& server) {
        EXPECT_TRUE(server.handshaking());
        EXPECT_EQ(server.tls_session(), nullptr);
        ASSERT_TRUE(read_exactly(server, request, 5));
        ASSERT_NE(server.tls_session(), nullptr);
        const tls::SessionInfo& session = *server.tls_session();
        EXPECT_EQ(session.protocol, "TLSv1.3");
        EXPECT_EQ(session.cipher.rfind("TLS_", 0), 0u) << session.cipher;
        EXPECT_EQ(session.sni, "localhost");
        EXPECT_EQ(session.alpn, "http/1.1");
        EXPECT_FALSE(session.resumed);
        EXPECT_FALSE(session.client_certificate);
        EXPECT_EQ(server.write("world", 5), 5);
      },
      [](SSL* ssl, ClientResult& r) {
        SSL_write(ssl, "hello", 5);
        r.received = client_read_all(ssl, 5);
      });
  ASSERT_TRUE(result.connected) << result.error;
  EXPECT_EQ(request, "hello");
  EXPECT_EQ(result.received, "world");
  SSL_SESSION_free(result.session);
}

TEST_F(TlsTransportTest, TwelveNegotiatesAnEcdheAeadSuite) {
  use({any_address(server_pair_)});
  std::string cipher;
  const ClientResult result = exchange(
      {.max_version = TLS1_2_VERSION},
      [&](TlsTransport& server) {
        std::string request;
        ASSERT_TRUE(read_exactly(server, request, 1));
        EXPECT_EQ(server.tls_session()->protocol, "TLSv1.2");
        cipher = server.tls_session()->cipher;
      },
      [](SSL* ssl, ClientResult&) { SSL_write(ssl, "x", 1); });
  ASSERT_TRUE(result.connected) << result.error;
  EXPECT_EQ(cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  SSL_SESSION_free(result.session);
}

TEST_F(TlsTransportTest, OlderProtocolsAreRefusedWithAReason) {
  use({any_address(server_pair_)});
  std::string failure;
  const ClientResult result = exchange(
      {.max_version = TLS1_1_VERSION},
      [&](TlsTransport& server) {
        EXPECT_EQ(read_until_failure(server), -1);
        failure = server.failure();
      },
      [](SSL*, ClientResult&) {});
  EXPECT_FALSE(result.connected);
  EXPECT_NE(failure.find("TLS_Handshake_Failed: unsupported protocol"), std::string::npos)
      << failure;
}

TEST_F(TlsTransportTest, NoBindingForTheNameEndsWithUnrecognizedName) {
  tls::CertBinding named = any_address(server_pair_);
  named.kind = tls::CertBinding::Kind::hostname_port;
  named.host = "www.example.com";
  use({named});
  std::string failure;
  const ClientResult result = exchange(
      {.sni = "other.test"},
      [&](TlsTransport& server) {
        EXPECT_EQ(read_until_failure(server), -1);
        failure = server.failure();
      },
      [](SSL*, ClientResult&) {});
  EXPECT_FALSE(result.connected);
  EXPECT_NE(result.error.find("unrecognized name"), std::string::npos) << result.error;
  EXPECT_NE(failure.find("TLS_No_Binding"), std::string::npos) << failure;
  EXPECT_NE(failure.find("other.test"), std::string::npos) << failure;
}

TEST_F(TlsTransportTest, TheSniBindingsCertificateIsPresented) {
  const TestKeyPair wild = make_certificate({.common_name = "*.wild.test",
                                             .dns_names = {"*.wild.test"}});
  tls::CertBinding by_name = any_address(wild);
  by_name.kind = tls::CertBinding::Kind::hostname_port;
  by_name.host = "*.wild.test";
  use({any_address(server_pair_), by_name});
  for (const auto& [sni, subject] : {std::pair{"a.wild.test", "*.wild.test"},
                                     std::pair{"a.b.wild.test", "localhost"}}) {
    const ClientResult result = exchange(
        {.sni = sni},
        [&](TlsTransport& server) {
          std::string request;
          ASSERT_TRUE(read_exactly(server, request, 1));
        },
        [](SSL* ssl, ClientResult&) { SSL_write(ssl, "x", 1); });
    ASSERT_TRUE(result.connected) << result.error;
    EXPECT_NE(result.peer_subject.find(std::string("CN=") + subject), std::string::npos)
        << sni << ": " << result.peer_subject;
    SSL_SESSION_free(result.session);
  }
}

TEST_F(TlsTransportTest, ABigWriteRepeatsTheRecordTheFullSocketRefused) {
  use({any_address(server_pair_)});
  const std::string data = random_bytes(8 * 1024 * 1024);
  bool repeated = false;
  const ClientResult result = exchange(
      {},
      [&](TlsTransport& server) {
        std::string request;
        ASSERT_TRUE(read_exactly(server, request, 1));
        std::size_t sent = 0;
        while (sent < data.size()) {
          const ssize_t n = server.write(data.data() + sent, data.size() - sent);
          if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
          }
          ASSERT_EQ(errno, EAGAIN);
          repeated = repeated || server.must_repeat() > 0;
          ASSERT_TRUE(wait_for(server.descriptor(), POLLOUT));
        }
      },
      [&](SSL* ssl, ClientResult& r) {
        SSL_write(ssl, "x", 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the socket fill
        r.received = client_read_all(ssl, data.size());
      });
  ASSERT_TRUE(result.connected) << result.error;
  EXPECT_TRUE(repeated);
  EXPECT_TRUE(result.received == data) << result.received.size();
  SSL_SESSION_free(result.session);
}

// With read-ahead OpenSSL takes whole records from the socket that a small read cannot
// return: epoll then stays silent, and only has_buffered_input() says there is more.
TEST_F(TlsTransportTest, InputHeldInsideOpenSslIsReported) {
  use({any_address(server_pair_)});
  const std::string data = random_bytes(200 * 1024);
  std::string received;
  const ClientResult result = exchange(
      {},
      [&](TlsTransport& server) {
        char small[1000];  // some reads end on a record's boundary
        while (received.size() < data.size()) {
          const ssize_t n = server.read(small, sizeof small);
          if (n < 0) {
            ASSERT_EQ(errno, EAGAIN);
            ASSERT_FALSE(server.has_buffered_input());  // else the read would have returned it
          } else {
            ASSERT_GT(n, 0);
            received.append(small, static_cast<std::size_t>(n));
            // As the connection does: read again at once only for input epoll cannot see.
            if (received.size() == data.size() || server.has_buffered_input()) continue;
          }
          ASSERT_TRUE(wait_for(server.descriptor(), POLLIN)) << received.size();
        }
        EXPECT_EQ(server.write("y", 1), 1);
      },
      [&](SSL* ssl, ClientResult& r) {
        // Small records (as pipelined requests make): many whole ones fit in what OpenSSL
        // reads ahead from the socket.
        for (std::size_t at = 0; at < data.size(); at += 100) {
          const std::size_t size = std::min<std::size_t>(100, data.size() - at);
          SSL_write(ssl, data.data() + at, static_cast<int>(size));
        }
        r.received = client_read_all(ssl, 1);  // holds the connection open until the reply
      });
  ASSERT_TRUE(result.connected) << result.error;
  EXPECT_TRUE(received == data);
  SSL_SESSION_free(result.session);
}

TEST_F(TlsTransportTest, FileRangesAreEncryptedFromTheRightOffset) {
  use({any_address(server_pair_)});
  const std::string data = random_bytes(3 * 1024 * 1024 + 123);
  char path[] = "/tmp/tls_transport_test_XXXXXX";
  const int file = ::mkstemp(path);
  ASSERT_EQ(::write(file, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::unlink(path);
  const std::uint64_t from = 1000;
  const ClientResult result = exchange(
      {},
      [&](TlsTransport& server) {
        std::string request;
        ASSERT_TRUE(read_exactly(server, request, 1));
        std::uint64_t offset = from;
        while (offset < data.size()) {
          const ssize_t n = server.send_file(file, offset, data.size() - offset);
          if (n > 0) continue;
          ASSERT_EQ(n, -1);
          ASSERT_EQ(errno, EAGAIN);
          ASSERT_TRUE(wait_for(server.descriptor(), POLLOUT));
        }
      },
      [&](SSL* ssl, ClientResult& r) {
        SSL_write(ssl, "x", 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        r.received = client_read_all(ssl, data.size() - from);
      });
  ::close(file);
  ASSERT_TRUE(result.connected) << result.error;
  EXPECT_TRUE(result.received == data.substr(from)) << result.received.size();
  SSL_SESSION_free(result.session);
}

// Serves one byte for one byte and tells whether the handshake was a resumption.
std::function<void(TlsTransport&)> note_resumption(bool& resumed) {
  return [&resumed](TlsTransport& server) {
    std::string request;
    ASSERT_TRUE(read_exactly(server, request, 1));
    resumed = server.tls_session()->resumed;
    EXPECT_EQ(server.write("y", 1), 1);
    server.shutdown_write();  // close_notify: a session cut off by a bare EOF cannot resume
  };
}

void ask_and_read_to_the_end(SSL* ssl, ClientResult& r) {
  SSL_write(ssl, "x", 1);
  r.received = client_read_all(ssl, 2);  // to the end: the tickets may follow the reply
}

TEST_F(TlsTransportTest, ASecondConnectionResumesWithTheTicket) {
  use({any_address(server_pair_)});
  bool first_resumed = true;
  const ClientResult first = exchange({}, note_resumption(first_resumed), ask_and_read_to_the_end);
  ASSERT_TRUE(first.connected) << first.error;
  ASSERT_NE(first.session, nullptr);
  ASSERT_EQ(SSL_SESSION_is_resumable(first.session), 1);
  ASSERT_EQ(SSL_SESSION_has_ticket(first.session), 1);
  bool second_resumed = false;
  const ClientResult second = exchange({.resume = first.session}, note_resumption(second_resumed),
                                      ask_and_read_to_the_end);
  ASSERT_TRUE(second.connected) << second.error;
  EXPECT_FALSE(first_resumed);
  EXPECT_TRUE(second_resumed);
  SSL_SESSION_free(first.session);
  SSL_SESSION_free(second.session);
}

TEST_F(TlsTransportTest, TicketsOutliveTwoKeyRotationsButNotThree) {
  use({any_address(server_pair_)});
  bool resumed = true;
  const ClientResult first = exchange({}, note_resumption(resumed), ask_and_read_to_the_end);
  ASSERT_TRUE(first.connected) << first.error;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  std::int64_t later = now.tv_sec;
  for (int rotations = 1; rotations <= 3; ++rotations) {
    later += tls::TicketKeys::kRotationSeconds;
    keys_->rotate_if_due(later);
    const ClientResult again = exchange({.resume = first.session}, note_resumption(resumed),
                                      ask_and_read_to_the_end);
    ASSERT_TRUE(again.connected) << again.error;
    EXPECT_EQ(resumed, rotations < 3) << rotations << " rotations";
    SSL_SESSION_free(again.session);
  }
  SSL_SESSION_free(first.session);
}

TEST_F(TlsTransportTest, ClientCertificatesRequiredOrRequested) {
  const TestKeyPair ca = make_certificate({.common_name = "Test CA", .dns_names = {},
                                           .is_ca = true});
  const TestKeyPair client = make_certificate({.common_name = "client1", .dns_names = {}}, &ca);
  const TestKeyPair stranger = make_certificate({.common_name = "stranger", .dns_names = {}});
  tls::CertBinding binding = any_address(server_pair_);
  binding.ca_pem = ca.certificate_pem;

  binding.client_cert = tls::ClientCertMode::require;
  use({binding});
  std::string failure;
  const ClientResult refused = exchange(
      {},
      [&](TlsTransport& server) {
        EXPECT_EQ(read_until_failure(server), -1);
        failure = server.failure();
      },
      [](SSL* ssl, ClientResult& r) { r.received = client_read_all(ssl, 1); });
  // TLS 1.3 clients finish their side before the server checks: the alert ends the read.
  EXPECT_TRUE(refused.received.empty());
  EXPECT_NE(failure.find("certificate"), std::string::npos) << failure;
  SSL_SESSION_free(refused.session);

  binding.client_cert = tls::ClientCertMode::request;
  use({binding});
  for (const auto& [who, verified] : {std::pair{&client, true}, std::pair{&stranger, false}}) {
    std::optional<tls::ClientCertificate> seen;
    const ClientResult result = exchange(
        {.certificate = who},
        [&](TlsTransport& server) {
          std::string request;
          ASSERT_TRUE(read_exactly(server, request, 1));
          seen = server.tls_session()->client_certificate;
        },
        [](SSL* ssl, ClientResult&) { SSL_write(ssl, "x", 1); });
    ASSERT_TRUE(result.connected) << result.error;
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->verified, verified);
    EXPECT_EQ(seen->der, who->der);
    EXPECT_EQ(seen->issuer, verified ? "CN=Test CA,O=httpapi tests"
                                     : "CN=stranger,O=httpapi tests");
    SSL_SESSION_free(result.session);
  }
}

}  // namespace
}  // namespace httpapi::daemon
