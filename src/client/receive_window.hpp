// The receive window a queue handle uses when the application sets none: how many requests
// it asks the service for ahead of its receive calls. Internal to the library.
//
// Taking requests ahead is what makes a busy process fast (one read for many requests, no
// round trip per request), and it costs nothing when the process dies: requests application
// code has not seen go back to the queue for the next worker (docs/queues.md). It costs
// fairness when idle, though: a request taken ahead waits for this process while another
// worker of the queue may be free. So the window follows how busy the process is: it doubles
// each time the application finds other requests waiting behind the one it takes (here, or
// in the service's queue), and halves each time it finds none, down to HTTP.sys's 1.
//
// The largest window is how many requests one wake-up of a busy process can carry. Where the
// service and the application share a CPU, every batch costs a switch to the application
// and back: with 16 those switches were a fifth of all CPU time under pipelined load, and 64
// took httpapi-hello from 285k to 432k pipelined requests per second (bench/run.sh, same
// machine; bench/RESULTS.md, "A larger receive window"). A trial of 128 and 256 (one 5 s run
// each) gained 4% and 10% more there and nothing one request at a time, for up to four times
// the requests a process may hold that another worker could have taken.
#pragma once

#include <algorithm>
#include <cstdint>

namespace httpapi::client {

class ReceiveWindow {
 public:
  static constexpr std::uint32_t kLargest = 64;

  std::uint32_t size() const noexcept { return size_; }

  // A request goes to the application; `backlog`: others were waiting behind it.
  void handed_over(bool backlog) noexcept {
    size_ = backlog ? std::min(size_ * 2, kLargest) : std::max(size_ / 2, 1u);
  }

 private:
  std::uint32_t size_ = 1;
};

}  // namespace httpapi::client
