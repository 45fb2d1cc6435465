// The error log, LOG_DIR/httperr<N>.log: one line per request or connection the service
// itself rejected or abandoned, in HTTP.sys's httperr format, with size-based rollover.
#pragma once

#include <cstddef>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace httpapi::daemon {

struct ErrorLogEntry {
  std::string_view client_ip;
  std::uint16_t client_port = 0;
  std::string_view server_ip;
  std::uint16_t server_port = 0;
  std::string_view version;  // "HTTP/1.1", or empty when not parsed
  std::string_view method;
  std::string_view uri;
  int status = 0;            // 0 = no response (written as '-')
  std::string_view reason;   // BadRequest, Hostname, QueueFull, ...
  std::string_view queue;    // queue name, may be empty
};

class ErrorLog {
 public:
  // `directory` is created if missing. rollover_bytes >= 1 MiB as HTTP.sys.
  ErrorLog(std::string directory, std::size_t rollover_bytes);
  ~ErrorLog();
  // Never fails: a line that cannot be written (full disk, deleted or unwritable
  // directory) is counted in lines_lost(), and the file is opened again later.
  void write(const ErrorLogEntry& entry);  // any thread
  std::string current_path() const;
  // Closes the file and opens it again by name: after logrotate moved it (SIGHUP).
  void reopen();
  std::uint64_t lines_lost() const noexcept { return lost_.load(std::memory_order_relaxed); }

 private:
  void open_next();
  void open_current();
  bool usable();
  std::string directory_;
  std::size_t rollover_bytes_;
  mutable std::mutex mutex_;
  int fd_ = -1;
  unsigned sequence_ = 0;
  std::size_t written_ = 0;
  std::chrono::steady_clock::time_point next_open_attempt_{};
  std::atomic<std::uint64_t> lost_{0};
};

}  // namespace httpapi::daemon
