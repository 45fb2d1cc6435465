// The objects behind libhttpapi's opaque handles. Internal to the library.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/channel.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::client {

// Records the service's explanation of a failed call for httpapi_error_detail().
void set_error_detail(std::string_view detail);

// Blocking call/result exchange on a connection that carries nothing else (sessions).
struct SessionCore {
  Channel channel;
  std::mutex mutex;
  std::uint64_t next_call = 0;
  std::uint64_t next_group = 0;
  bool broken = false;
  // Sends one encoded call (tag `call`) and waits for its result.
  httpapi_error call(std::uint64_t call, const std::string& frame, std::uint64_t* value);
};

struct RequestState;

// A queue connection: requests, body pieces and results arrive interleaved; one thread at
// a time reads the socket and files what arrives where its waiters look for it.
struct QueueCore {
  Channel channel;
  std::uint64_t queue_id = 0;
  std::mutex mutex;
  std::condition_variable arrived;
  bool reader_active = false;
  bool broken = false;
  bool closed = false;
  std::uint32_t credits_outstanding = 0;
  std::uint32_t waiting_receivers = 0;
  std::uint32_t window = 1;  // httpapi_queue_set_receive_window
  std::deque<std::unique_ptr<httpapi_request>> ready;
  std::uint64_t next_call = 1;  // 1 was create_queue
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::string>> results;
  std::unordered_map<std::uint64_t, httpapi_request*> live;

  // Waits (holding `lock` except while reading) until `done()` or the deadline.
  // Returns OK when done() became true, else TIMEOUT or SERVICE_UNAVAILABLE.
  template <typename Done>
  httpapi_error wait(std::unique_lock<std::mutex>& lock, const Clock::time_point* deadline,
                     Done done);
  void file(const ipc::Frame& frame);  // mutex held
};

}  // namespace httpapi::client

struct httpapi_session {
  std::shared_ptr<httpapi::client::SessionCore> core;
};

struct httpapi_url_group {
  std::shared_ptr<httpapi::client::SessionCore> session;
  std::uint64_t id = 0;
};

struct httpapi_queue {
  std::shared_ptr<httpapi::client::QueueCore> core;
};

struct httpapi_request {
  std::shared_ptr<httpapi::client::QueueCore> queue;
  std::string frame;  // the ipc::Request frame; every view in `info` points into it
  httpapi_request_info info{};
  std::vector<httpapi_header> headers;
  std::vector<std::string> merged;  // storage for known headers that were repeated
  // body not yet handed to the application, and how the body stream stands
  std::string body;
  std::size_t body_start = 0;
  bool read_outstanding = false;
  bool body_end = false;
  bool gone = false;
  std::string trailer_list;  // ipc header list; `trailers` views point into it
  std::vector<httpapi_header> trailers;
  void keep_trailers(std::string_view list);
  // response progress
  bool response_started = false;
  bool response_finished = false;
};
