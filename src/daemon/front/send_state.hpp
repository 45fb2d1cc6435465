// What a connection needs only while it has output to write: the queue of bytes and file
// ranges, and the judgement of how fast the client takes them (MinSendRate). A connection
// takes one from its I/O thread's SendStatePool when it has something to send and gives it
// back once all is written, so that an idle keep-alive connection holds none: they can be
// many (bench/idle.sh), and a busy one reuses a state its neighbour just gave back.
#pragma once

#include "daemon/front/output_queue.hpp"
#include "daemon/policy/min_send_rate.hpp"

namespace httpapi::daemon {

struct SendState {
  OutputQueue queue;
  // Judged while the client's socket refuses bytes, so only while the queue holds some: a
  // state given back (queue empty, the last write taken whole) is as good as a fresh one.
  MinSendRate send_rate;
};

}  // namespace httpapi::daemon
