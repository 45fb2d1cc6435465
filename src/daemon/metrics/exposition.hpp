// The Prometheus text exposition format, version 0.0.4: a pure function from a snapshot to
// the text a scrape gets (docs/metrics.md lists every metric). Each family has its HELP and
// TYPE lines; label values are escaped as the format requires.
#pragma once

#include <string>
#include <string_view>

#include "daemon/metrics/metrics_snapshot.hpp"

namespace httpapi::daemon::metrics {

// The Content-Type of a scrape's answer.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

std::string render_exposition(const MetricsSnapshot& snapshot);

// A label value as the format writes it between quotes: \ " and newline escaped.
std::string escape_label_value(std::string_view value);

}  // namespace httpapi::daemon::metrics
