// The health URL (setting health_url, docs/operations.md): what a load balancer's health
// check asks. 200 "serving" while the service takes requests, 503 "draining" from the moment
// `httpcfg drain` starts, so the balancer stops sending new clients before the service stops
// listening. Never cached by anyone (Cache-Control: no-store): a stale 200 would keep
// traffic coming to a host that is leaving.
#pragma once

#include <functional>

#include "daemon/builtin/builtin_urls.hpp"

namespace httpapi::daemon {

// `draining` is called on I/O threads: it must be safe there (an atomic load).
BuiltinHandler health_handler(std::function<bool()> draining);

}  // namespace httpapi::daemon
