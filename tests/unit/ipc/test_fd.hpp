// A descriptor a test owns: closed when the test ends, however it ends.
#pragma once

#include <unistd.h>

namespace httpapi::ipc::testing {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace httpapi::ipc::testing
