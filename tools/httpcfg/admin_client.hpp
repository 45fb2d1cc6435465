// httpcfg's side of the admin connection (docs/protocol.md, role admin): connect to the
// control socket, exchange hello, then one JSON command per call, each answered by a result.
#pragma once

#include <cstdint>
#include <string>

namespace httpcfg {

// The control socket: DIR/control.sock for --state-dir DIR, else $HTTPAPI_CONTROL, else
// /run/httpapi/control.sock for root and $XDG_RUNTIME_DIR/httpapi/control.sock (or
// /tmp/httpapi-UID/control.sock without XDG_RUNTIME_DIR) for other users, as httpapid and
// libhttpapi choose it.
std::string control_socket_path(const std::string& state_dir);

enum class ConnectStatus : std::uint8_t {
  ok,
  not_running,  // no socket at the path, or nobody accepting on it
  failed,       // anything else: permissions, a path too long, a service that misbehaves
};

struct Answer {
  std::uint32_t status = 0;  // httpapi_error
  std::string detail;        // JSON for show commands on success, else one line
};

class AdminClient {
 public:
  AdminClient() = default;
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;
  ~AdminClient();

  // Connects and says hello with role admin. On failure `error` is a reason without the
  // "httpcfg:" prefix.
  ConnectStatus connect(const std::string& path, std::string& error);

  // Sends one admin call and waits for its result (at most `timeout_ms`). False with
  // `error` set when the connection failed; a service-side refusal is a true return with a
  // non-zero answer.status.
  bool call(const std::string& json, Answer& answer, std::string& error,
            int timeout_ms = 30000);

 private:
  bool send_all(const std::string& bytes, std::string& error);
  // Reads until one frame is complete; false with `error` on EOF, timeout or garbage.
  bool read_frame(std::string& frame_bytes, int timeout_ms, std::string& error);

  int fd_ = -1;
  std::string path_;
  std::string in_;
  std::uint64_t next_call_ = 1;
};

}  // namespace httpcfg
