// --seccomp: the system calls httpapid makes, and no others (libseccomp). Installed after
// the change of user and before the I/O threads start (every thread is covered: TSYNC).
// A call outside the list stops the service with a line naming its number, rather than
// failing quietly somewhere in OpenSSL or SQLite: an incomplete list is found at once.
#pragma once

#include <string>

namespace httpapi::daemon {

bool install_syscall_filter(std::string& error);

}  // namespace httpapi::daemon
