// ResponsePart: one decode of a send frame into a value that owns its bytes.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "daemon/front/response_part.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace d = httpapi::daemon;
namespace ipc = httpapi::ipc;

namespace {

ipc::Frame frame_of(const std::string& bytes) {
  ipc::Frame frame;
  std::size_t consumed = 0;
  EXPECT_EQ(ipc::next_frame(bytes, frame, consumed), ipc::FrameStatus::complete);
  return frame;
}

std::string send_response(std::uint32_t flags, std::uint16_t status) {
  std::string headers;
  ipc::append_header(headers, "X-A", "1");
  ipc::SendResponse m{7, flags, status, HTTPAPI_CACHE_USER_INVALIDATES, 30, "Fine", headers,
                      "body"};
  std::string out;
  EXPECT_TRUE(ipc::encode(out, m));
  return out;
}

}  // namespace

TEST(ResponsePart, HeadOwnsItsBytesAfterTheFrameAndAMove) {
  std::string bytes = send_response(0, 200);
  d::ResponsePart decoded;
  ASSERT_TRUE(d::decode_response_part(frame_of(bytes), decoded));
  bytes.assign(bytes.size(), 'x');  // the frame is gone
  const d::ResponsePart part = std::move(decoded);
  EXPECT_EQ(part.kind, d::ResponsePart::Kind::head);
  EXPECT_EQ(part.status, 200);
  EXPECT_EQ(part.cache_kind, HTTPAPI_CACHE_USER_INVALIDATES);
  EXPECT_EQ(part.cache_seconds, 30u);
  EXPECT_EQ(part.reason, "Fine");
  EXPECT_EQ(part.body, "body");
  ipc::HeaderListReader fields(part.fields);
  std::string_view name, value;
  ASSERT_TRUE(fields.next(name, value));
  EXPECT_EQ(name, "X-A");
  EXPECT_EQ(value, "1");
  EXPECT_FALSE(part.chunk_list());
  EXPECT_TRUE(part.ends_response());
}

TEST(ResponsePart, WhatEndsAResponse) {
  auto decoded = [](const std::string& bytes) {
    d::ResponsePart part;
    EXPECT_TRUE(d::decode_response_part(frame_of(bytes), part));
    return part;
  };
  EXPECT_FALSE(decoded(send_response(HTTPAPI_SEND_FLAG_MORE_DATA, 200)).ends_response());
  EXPECT_FALSE(decoded(send_response(0, 100)).ends_response());  // interim: more follows
  EXPECT_TRUE(decoded(send_response(0, 101)).ends_response());

  std::string body, trailers;
  ASSERT_TRUE(ipc::encode(body, ipc::SendBody{7, HTTPAPI_SEND_FLAG_MORE_DATA, "more"}));
  const d::ResponsePart piece = decoded(body);
  EXPECT_EQ(piece.kind, d::ResponsePart::Kind::body);
  EXPECT_EQ(piece.body, "more");
  EXPECT_FALSE(piece.ends_response());

  std::string list;
  ipc::append_header(list, "Checksum", "abc");
  ASSERT_TRUE(ipc::encode(trailers, ipc::SendTrailers{7, list}));
  const d::ResponsePart end = decoded(trailers);
  EXPECT_EQ(end.kind, d::ResponsePart::Kind::trailers);
  EXPECT_EQ(end.fields, list);
  EXPECT_TRUE(end.ends_response());
}

TEST(ResponsePart, MalformedFramesAreRefused) {
  // A header list that runs past its field.
  const std::string list("\x05\0\0\0\x01\0\0\0X", 9);
  const ipc::SendResponse m{7, 0, 200, 0, 0, "", list, ""};
  std::string bad;
  ASSERT_TRUE(ipc::encode(bad, m));
  d::ResponsePart part;
  EXPECT_FALSE(d::decode_response_part(frame_of(bad), part));
  // Another message type.
  std::string cancel;
  ASSERT_TRUE(ipc::encode(cancel, ipc::Cancel{7}));
  EXPECT_FALSE(d::decode_response_part(frame_of(cancel), part));
}
