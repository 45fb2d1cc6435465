#include "daemon/front/response_part.hpp"

#include <cstring>

#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

// Copies the three variable fields into one buffer the part owns.
void own(ResponsePart& part, std::string_view reason, std::string_view fields,
         std::string_view body) {
  part.bytes = std::make_unique_for_overwrite<char[]>(reason.size() + fields.size() + body.size());
  char* at = part.bytes.get();
  auto keep = [&at](std::string_view from) {
    if (!from.empty()) std::memcpy(at, from.data(), from.size());
    const std::string_view kept(at, from.size());
    at += from.size();
    return kept;
  };
  part.reason = keep(reason);
  part.fields = keep(fields);
  part.body = keep(body);
}

}  // namespace

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
      part.username.assign(m.username);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace httpapi::daemon
