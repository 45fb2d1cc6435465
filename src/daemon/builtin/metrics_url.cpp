#include "daemon/builtin/metrics_url.hpp"

#include "daemon/metrics/exposition.hpp"
#include "daemon/metrics/metrics_registry.hpp"

namespace httpapi::daemon {

BuiltinHandler metrics_handler(const metrics::MetricsRegistry& registry) {
  return [&registry](const BuiltinRequest& request) {
    BuiltinAnswer answer;
    answer.fields = {{"Content-Type", std::string(metrics::kExpositionContentType)},
                     {"Cache-Control", "no-store"}};
    if (request.method != "GET" && request.method != "HEAD") {
      answer.status = 405;
      answer.fields = {{"Content-Type", "text/plain; charset=utf-8"},
                       {"Allow", "GET, HEAD"},
                       {"Cache-Control", "no-store"}};
      answer.body = "the metrics URL answers GET and HEAD\n";
      return answer;
    }
    answer.body = registry.scrape();
    return answer;
  };
}

}  // namespace httpapi::daemon
