// The calls of a queue handle about its queue: create or open it, grant access to it, set
// its properties, shut it down; and the end of a handle, which may end its queue. Ending a
// queue reaches the requests in flight, the URL groups bound to it and its fragments, so
// these calls sit above the registry, which stays bookkeeping. Service loop only.
#pragma once

#include <string_view>

#include "ipc/frame.hpp"

namespace httpapi::daemon {

class AppChannel;
class ControlServer;
class FragmentCache;
class QueueRegistry;
class RequestBroker;
class RequestQueue;
class UrlGroups;
struct Settings;

class QueueCalls {
 public:
  // `settings` is the service's master copy (the length of a new queue).
  QueueCalls(ControlServer& control, QueueRegistry& queues, RequestBroker& broker,
             UrlGroups& groups, FragmentCache& fragments, const Settings& settings)
      : control_(control), queues_(queues), broker_(broker), groups_(groups),
        fragments_(fragments), settings_(settings) {}

  void on_create_queue(AppChannel& handle, const ipc::Frame& frame);
  void on_queue_allow(AppChannel& handle, const ipc::Frame& frame);
  void on_queue_property(AppChannel& handle, const ipc::Frame& frame);
  void on_shutdown_queue(AppChannel& handle, const ipc::Frame& frame);
  void on_handle_closed(AppChannel& handle);

 private:
  void end_queue(RequestQueue& queue, std::string_view log_reason);

  ControlServer& control_;
  QueueRegistry& queues_;
  RequestBroker& broker_;
  UrlGroups& groups_;
  FragmentCache& fragments_;
  const Settings& settings_;
};

}  // namespace httpapi::daemon
