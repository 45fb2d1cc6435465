// The standard reason phrase of a status code: the one table for the status lines of the
// applications' responses (when they give none), the service's own answers and the
// response cache.
#pragma once

#include <string_view>

namespace httpapi::http1 {

// HTTP.sys's texts (e.g. 413 "Request Entity Too Large"); "Unknown" for a code without one.
std::string_view reason_phrase(int status) noexcept;

}  // namespace httpapi::http1
