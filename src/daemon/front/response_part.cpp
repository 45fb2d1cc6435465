#include "daemon/front/response_part.hpp"

#include <utility>

#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

// Copies the three variable fields into the one buffer the part owns.
void own(ResponsePart& part, std::string_view reason, std::string_view fields,
         std::string_view body) {
  part.bytes.clear();
  part.bytes.reserve(reason.size() + fields.size() + body.size());
  part.bytes.append(reason).append(fields).append(body);
  const char* at = part.bytes.data();
  part.reason = {at, reason.size()};
  part.fields = {at + reason.size(), fields.size()};
  part.body = {at + reason.size() + fields.size(), body.size()};
}

// `view` into `from`'s bytes, as the same range of `to`'s.
std::string_view rebase(std::string_view view, const char* from, const char* to) {
  if (view.empty()) return {};
  return {to + (view.data() - from), view.size()};
}

}  // namespace

ResponsePart& ResponsePart::operator=(ResponsePart&& other) noexcept {
  if (this == &other) return *this;
  kind = other.kind;
  flags = other.flags;
  status = other.status;
  cache_kind = other.cache_kind;
  cache_seconds = other.cache_seconds;
  substatus = other.substatus;
  const char* from = other.bytes.data();
  bytes = std::move(other.bytes);
  reason = rebase(other.reason, from, bytes.data());
  fields = rebase(other.fields, from, bytes.data());
  body = rebase(other.body, from, bytes.data());
  other.reason = other.fields = other.body = {};
  return *this;
}

bool ResponsePart::more_data() const noexcept { return flags & HTTPAPI_SEND_FLAG_MORE_DATA; }

bool ResponsePart::ends_response() const noexcept {
  if (kind == Kind::trailers) return true;
  if (kind == Kind::log_data) return false;
  if (kind == Kind::head && status < 200 && status != 101) return false;
  return !more_data();
}

bool decode_response_part(const ipc::Frame& frame, ResponsePart& part) {
  switch (static_cast<ipc::Type>(frame.type)) {
    case ipc::Type::send_response: {
      ipc::SendResponse m;
      if (!ipc::decode(frame, m)) return false;
      part.kind = ResponsePart::Kind::head;
      part.flags = m.flags;
      part.status = m.status;
      part.cache_kind = m.cache_kind;
      part.cache_seconds = m.cache_seconds;
      own(part, m.reason, m.headers, m.body);
      return true;
    }
    case ipc::Type::send_body: {
      ipc::SendBody m;
      if (!ipc::decode(frame, m)) return false;
      part.kind = ResponsePart::Kind::body;
      part.flags = m.flags;
      own(part, {}, {}, m.data);
      return true;
    }
    case ipc::Type::send_trailers: {
      ipc::SendTrailers m;
      if (!ipc::decode(frame, m)) return false;
      part.kind = ResponsePart::Kind::trailers;
      own(part, {}, m.trailers, {});
      return true;
    }
    case ipc::Type::log_data: {
      ipc::LogData m;
      if (!ipc::decode(frame, m)) return false;
      part.kind = ResponsePart::Kind::log_data;
      part.substatus = m.substatus;
      own(part, {}, m.username, {});
      return true;
    }
    default:
      return false;
  }
}

}  // namespace httpapi::daemon
