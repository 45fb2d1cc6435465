// The metrics URL (setting metrics_url, docs/metrics.md): Prometheus's scrapes, answered by
// the service itself with the text exposition format, for GET and HEAD (405 otherwise),
// anywhere under the URL as routing matches it. Never cached by anyone (Cache-Control:
// no-store): each scrape must see the counters of its own moment.
#pragma once

#include "daemon/builtin/builtin_urls.hpp"

namespace httpapi::daemon {

namespace metrics {
class MetricsRegistry;
}

// `registry` outlives the handler; scrape() is safe on any I/O thread.
BuiltinHandler metrics_handler(const metrics::MetricsRegistry& registry);

}  // namespace httpapi::daemon
