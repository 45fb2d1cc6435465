// The body reader over the same bytes whole, at every split point and byte by byte: the body
// and the trailers come out the same, the framing after the body is left unconsumed, and a
// broken chunked body is an error at the byte that breaks it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "daemon/front/body_reader.hpp"
#include "ipc/messages.hpp"

namespace d = httpapi::daemon;
namespace http1 = httpapi::http1;

namespace {

const http1::ChunkedLimits kLimits{};

struct Result {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  http1::Error error = http1::Error::none;
  std::string trailers;
};

// Feeds `input` in pieces of `piece` bytes, keeping the unconsumed tail as a session does.
Result feed(d::BodyReader reader, std::string_view input, std::size_t piece,
            std::size_t max = SIZE_MAX) {
  Result r;
  std::string buffer;
  std::size_t offered = 0;
  while (!reader.done()) {
    if (offered < input.size()) {
      const std::size_t take = std::min(piece, input.size() - offered);
      buffer.append(input.substr(offered, take));
      offered += take;
    }
    const auto step = reader.decode(buffer, max, &r.body, kLimits);
    buffer.erase(0, step.consumed);
    r.consumed += step.consumed;
    if (step.consumed == 0 && offered == input.size()) break;
  }
  r.done = reader.done();
  r.error = reader.error();
  r.trailers = reader.take_trailers();
  return r;
}

void expect_same_at_every_split(const d::BodyReader& reader, std::string_view input) {
  const Result whole = feed(reader, input, input.size());
  for (std::size_t piece = 1; piece < input.size(); ++piece) {
    const Result split = feed(reader, input, piece);
    EXPECT_EQ(split.body, whole.body) << "pieces of " << piece;
    EXPECT_EQ(split.consumed, whole.consumed) << "pieces of " << piece;
    EXPECT_EQ(split.error, whole.error) << "pieces of " << piece;
    EXPECT_EQ(split.trailers, whole.trailers) << "pieces of " << piece;
  }
}

d::BodyReader started(http1::Framing framing, std::uint64_t length = 0) {
  d::BodyReader reader;
  reader.start(framing, length);
  return reader;
}

TEST(BodyReader, NoBodyIsDoneAtOnceAndTakesNothing) {
  auto reader = started(http1::Framing::none);
  EXPECT_FALSE(reader.has_body());
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.decode("GET / HTTP/1.1\r\n", SIZE_MAX, nullptr, kLimits).consumed, 0u);
}

TEST(BodyReader, ContentLengthTakesExactlyItsBytes) {
  const auto reader = started(http1::Framing::content_length, 5);
  const Result r = feed(reader, "hello" "GET /next HTTP/1.1\r\n", 1000);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.consumed, 5u);  // the pipelined request after it is not body
  expect_same_at_every_split(reader, "hello" "GET /next");
}

TEST(BodyReader, AZeroLengthBodyIsDone) {
  EXPECT_TRUE(started(http1::Framing::content_length, 0).done());
}

TEST(BodyReader, ChunkedBodyWithTrailers) {
  const auto reader = started(http1::Framing::chunked);
  const std::string input = "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nDigest: abc\r\n\r\nNEXT";
  const Result r = feed(reader, input, input.size());
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, http1::Error::none);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(r.consumed, input.size() - 4);
  std::string expected;
  httpapi::ipc::append_header(expected, "Digest", "abc");
  EXPECT_EQ(r.trailers, expected);
  expect_same_at_every_split(reader, input);
}

TEST(BodyReader, ABrokenChunkIsAnError) {
  const auto reader = started(http1::Framing::chunked);
  const Result r = feed(reader, "5\r\nhelloXX", 100);
  EXPECT_TRUE(r.done);
  EXPECT_NE(r.error, http1::Error::none);
  expect_same_at_every_split(reader, "5\r\nhelloXX");
}

TEST(BodyReader, AMalformedTrailerIsABadRequest) {
  const Result r = feed(started(http1::Framing::chunked), "0\r\nno colon here\r\n\r\n", 100);
  EXPECT_EQ(r.error, http1::Error::bad_request);
}

TEST(BodyReader, MaxLimitsOneCallAndTheRestWaits) {
  auto reader = started(http1::Framing::content_length, 10);
  std::string out;
  const auto step = reader.decode("0123456789", 4, &out, kLimits);
  EXPECT_EQ(step.produced, 4u);
  EXPECT_EQ(step.consumed, 4u);
  EXPECT_EQ(out, "0123");
  EXPECT_FALSE(reader.done());
  reader.decode("456789", SIZE_MAX, nullptr, kLimits);  // drained: discarded
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(out, "0123");
}

TEST(BodyReader, CompleteInLooksAheadWithoutConsuming) {
  auto length = started(http1::Framing::content_length, 5);
  EXPECT_FALSE(length.complete_in("hell", kLimits));
  EXPECT_TRUE(length.complete_in("hello", kLimits));
  auto chunked = started(http1::Framing::chunked);
  EXPECT_FALSE(chunked.complete_in("5\r\nhello\r\n", kLimits));
  EXPECT_TRUE(chunked.complete_in("5\r\nhello\r\n0\r\n\r\n", kLimits));
  EXPECT_TRUE(chunked.complete_in("zz\r\n", kLimits));  // an error ends it too
  EXPECT_FALSE(chunked.done());                         // nothing was consumed
  EXPECT_EQ(feed(chunked, "5\r\nhello\r\n0\r\n\r\n", 3).body, "hello");
}

TEST(BodyReader, AStreamNeverEnds) {
  d::BodyReader reader;
  reader.start_stream();
  std::string out;
  EXPECT_EQ(reader.decode("any bytes", SIZE_MAX, &out, kLimits).consumed, 9u);
  EXPECT_FALSE(reader.done());
  EXPECT_FALSE(reader.complete_in("more", kLimits));
  EXPECT_EQ(out, "any bytes");
}

}  // namespace
