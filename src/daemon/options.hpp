// Service-wide settings: command line today, the configuration store later (DESIGN.md §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "http1/chunked_decoder.hpp"
#include "http1/request_parser.hpp"

namespace httpapi::daemon {

struct Options {
  std::string state_dir;
  std::string config_db;    // empty = STATE_DIR/config.db
  unsigned io_threads = 0;  // 0 = one per CPU this process may run on
  http1::Limits limits;
  http1::ChunkedLimits chunked_limits;
  std::size_t queue_length = 1000;
  std::string server_header = std::string("httpapi/") + HTTPAPI_VERSION_STRING;
  unsigned header_wait_seconds = 120;
  unsigned idle_connection_seconds = 120;
  unsigned shutdown_seconds = 10;  // SIGTERM: how long in-flight responses may take
  std::size_t error_log_rollover_bytes = 1024 * 1024;
  std::size_t inline_body_bytes = 64 * 1024;  // body delivered with the head
};

}  // namespace httpapi::daemon
