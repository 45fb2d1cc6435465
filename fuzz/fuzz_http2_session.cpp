// Drives Http2Session as a client's peer would: arbitrary bytes (the seeds start with the
// connection preface) arrive in two pieces on a real Connection of a real Service, built once
// with no URL registered, so every request stream is answered by the service itself (404,
// 400...) through the same HEADERS/DATA path as an application's response. The harness runs
// the I/O worker's event loop itself (EventLoop::run_once) and reads what the session writes,
// until the connection closes after the client's end of input. Nothing may crash, leak or
// hang, whatever the frames say; nghttp2 is not instrumented, our session around it is.
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/front/connection.hpp"
#include "daemon/front/tcp_transport.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/service.hpp"
#include "daemon/service_paths.hpp"
#include "fuzz_support.hpp"

namespace {

using httpapi::daemon::Connection;
using httpapi::daemon::IoWorker;
using httpapi::daemon::Options;
using httpapi::daemon::Service;

// The service lives for the whole run, in a scratch state directory whose error log goes to
// /dev/null: its lines are still formatted from the fuzzed requests, never stored.
Service& service() {
  static Service* const built = [] {
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/fuzz-http2-session-XXXXXX";
    if (!mkdtemp(dir)) std::abort();
    std::filesystem::create_directories(std::string(dir) + "/logs");
    if (symlink("/dev/null", (std::string(dir) + "/logs/httperr1.log").c_str()) != 0) {
      std::abort();
    }
    Options options;
    options.state_dir = dir;
    options.io_threads = 1;
    options.error_log_rollover_bytes = SIZE_MAX / 2;  // never leaves /dev/null
    httpapi::daemon::resolve_service_paths(options);  // the store and logs in `dir`, as httpapid
    return new Service(std::move(options));
  }();
  return *built;
}

sockaddr_storage loopback(std::uint16_t port) {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return storage;
}

// Turns of the loop until the connection closes or nothing moves any more; everything it
// wrote is read (and dropped) so its output never blocks.
void drive(IoWorker& worker, Connection& connection, int peer) {
  char sink[65536];
  for (int idle = 0; idle < 4 && !connection.closed();) {
    worker.loop().run_once(0);
    bool moved = false;
    while (::read(peer, sink, sizeof sink) > 0) moved = true;
    idle = moved ? 0 : idle + 1;
  }
}

// Writes all of `bytes` to the connection's socket, turning the loop while it is full.
void feed(IoWorker& worker, Connection& connection, int peer, std::string_view bytes) {
  while (!bytes.empty() && !connection.closed()) {
    const ssize_t n = ::write(peer, bytes.data(), bytes.size());
    if (n > 0) bytes.remove_prefix(static_cast<std::size_t>(n));
    drive(worker, connection, peer);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::uint64_t next_id = 0;
  Service& svc = service();
  IoWorker& worker = svc.worker(0);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = httpapi::fuzz::split_point(input);
  {
    auto connection = std::make_unique<Connection>(
        worker, std::make_unique<httpapi::daemon::TcpTransport>(pair[0]), ++next_id,
        loopback(8080), loopback(40000));
    // Two pieces, so frames split across reads are fuzzed too.
    feed(worker, *connection, pair[1], input.substr(0, split));
    feed(worker, *connection, pair[1], input.substr(split));
    ::shutdown(pair[1], SHUT_WR);
    drive(worker, *connection, pair[1]);
    // A connection still open here waits for more than its client sent (a body, its idle
    // timer): it goes as at service shutdown.
    if (!connection->closed()) connection->close_now();
    worker.loop().run_once(0);  // destroy_later's task, for a connection the worker never had
  }
  ::close(pair[1]);
  return 0;
}
