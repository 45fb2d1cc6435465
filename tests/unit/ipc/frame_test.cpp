// The ipc framing and every message: round trips, split delivery, malformed input.
#include <gtest/gtest.h>

#include <string>

#include "httpapi/httpapi.h"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace ipc = httpapi::ipc;

namespace {

ipc::Frame only_frame(const std::string& bytes) {
  ipc::Frame frame;
  std::size_t consumed = 0;
  EXPECT_EQ(ipc::next_frame(bytes, frame, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(consumed, bytes.size());
  return frame;
}

std::string sockaddr_bytes(char fill) { return std::string(ipc::kSockaddrSize, fill); }

}  // namespace

TEST(Frame, HeaderIsLittleEndianAndCountsEverything) {
  std::string out;
  ipc::FrameWriter w(out, 0x0102, 0x1122334455667788ull);
  w.u32(7).bytes("abc");
  ASSERT_TRUE(w.finish());
  // 16 header + 4 fixed u32 + 8 ref + 3 variable
  ASSERT_EQ(out.size(), 31u);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 31);
  EXPECT_EQ(out[4], 0x02);
  EXPECT_EQ(out[5], 0x01);
  EXPECT_EQ(static_cast<unsigned char>(out[6]), 12);  // fixed length
  EXPECT_EQ(static_cast<unsigned char>(out[8]), 0x88);
  const ipc::Frame frame = only_frame(out);
  EXPECT_EQ(frame.type, 0x0102);
  EXPECT_EQ(frame.tag, 0x1122334455667788ull);
  ipc::FrameReader r(frame);
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.bytes(), "abc");
  EXPECT_TRUE(r.ok());
}

TEST(Frame, EncodedIsTheWholeFrameAndParsesAgain) {
  std::string out;
  ipc::encode(out, ipc::Receive{3});
  const std::size_t first_size = out.size();
  ipc::encode(out, ipc::Type::add_url, ipc::UrlCall{9, 1, 2, "http://+:80/x/"});
  std::string_view rest = out;
  ipc::Frame frame;
  std::size_t consumed = 0;
  ASSERT_EQ(ipc::next_frame(rest, frame, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(frame.encoded, rest.substr(0, first_size));
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, frame, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(frame.encoded.data(), rest.data());
  EXPECT_EQ(frame.encoded.size(), rest.size());
  // A copy outlives the buffer and reads back the same message.
  const std::string kept(frame.encoded);
  out.assign(out.size(), '\0');
  const ipc::Frame again = only_frame(kept);
  ipc::UrlCall m;
  ASSERT_TRUE(ipc::decode(again, m));
  EXPECT_EQ(m.prefix, "http://+:80/x/");
  EXPECT_EQ(m.call, 9u);
  EXPECT_EQ(again.type, static_cast<std::uint16_t>(ipc::Type::add_url));
}

TEST(Frame, IncompleteAtEveryPrefix) {
  std::string out;
  ipc::encode(out, ipc::Type::add_url, ipc::UrlCall{9, 1, 2, "http://+:80/x/"});
  for (std::size_t cut = 0; cut < out.size(); ++cut) {
    ipc::Frame frame;
    std::size_t consumed = 0;
    EXPECT_EQ(ipc::next_frame(std::string_view(out).substr(0, cut), frame, consumed),
              ipc::FrameStatus::incomplete)
        << "cut at " << cut;
  }
}

TEST(Frame, BatchOfFramesSplitsInOrder) {
  std::string out;
  for (std::uint32_t i = 0; i < 100; ++i) ipc::encode(out, ipc::Receive{i});
  std::string_view rest = out;
  for (std::uint32_t i = 0; i < 100; ++i) {
    ipc::Frame frame;
    std::size_t consumed = 0;
    ASSERT_EQ(ipc::next_frame(rest, frame, consumed), ipc::FrameStatus::complete);
    ipc::Receive m;
    ASSERT_TRUE(ipc::decode(frame, m));
    EXPECT_EQ(m.credits, i);
    rest.remove_prefix(consumed);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(Frame, RejectsMalformedHeaders) {
  ipc::Frame frame;
  std::size_t consumed = 0;
  std::string tiny(16, '\0');
  tiny[0] = 8;  // size smaller than the header
  EXPECT_EQ(ipc::next_frame(tiny, frame, consumed), ipc::FrameStatus::malformed);
  std::string fixed_too_long(16, '\0');
  fixed_too_long[0] = 16;
  fixed_too_long[6] = 1;  // fixed part longer than the frame
  EXPECT_EQ(ipc::next_frame(fixed_too_long, frame, consumed), ipc::FrameStatus::malformed);
  std::string huge(16, '\0');
  huge[3] = 0x7f;  // ~2 GiB announced
  EXPECT_EQ(ipc::next_frame(huge, frame, consumed), ipc::FrameStatus::oversized);
}

TEST(Frame, ReferenceOutsideVariableAreaIsRejected) {
  std::string out;
  ipc::encode(out, ipc::CreateQueue{1, 0, "name"});
  // Point the name's offset past the variable area.
  out[16 + 4] = 100;
  ipc::CreateQueue m;
  EXPECT_FALSE(ipc::decode(only_frame(out), m));
}

TEST(Frame, ReadingPastFixedPartFailsSoftly) {
  std::string out;
  ipc::encode(out, ipc::Receive{3});
  const ipc::Frame frame = only_frame(out);
  ipc::FrameReader r(frame);
  r.u32();
  EXPECT_EQ(r.u64(), 0u);
  EXPECT_FALSE(r.ok());
  ipc::ReadBody wrong_type;
  EXPECT_FALSE(ipc::decode(frame, wrong_type));
}

TEST(Frame, WriterRefusesFramesOverTheLimit) {
  std::string out = "keep";
  const std::string big(ipc::kMaxFrameSize, 'x');
  EXPECT_FALSE(ipc::encode(out, ipc::SendBody{1, 0, big}));
  EXPECT_EQ(out, "keep");  // nothing partial left behind
}

// The variable area's size is kept as fields come: a frame of exactly kMaxFrameSize bytes
// is written, one byte more is not, however the bytes are spread over the fields.
TEST(Frame, WriterTakesAFrameOfExactlyTheLimit) {
  constexpr std::size_t fixed = 4 + 2 * 8;  // Body: flags, data and trailers
  const std::size_t room = ipc::kMaxFrameSize - ipc::kHeaderSize - fixed;
  std::string out;
  const std::string data(room, 'x');
  EXPECT_TRUE(ipc::encode(out, ipc::Body{1, 0, data, {}}));
  EXPECT_EQ(out.size(), ipc::kMaxFrameSize);
  ipc::Body back;
  ASSERT_TRUE(ipc::decode(only_frame(out), back));
  EXPECT_EQ(back.data, data);
  out.clear();
  EXPECT_FALSE(ipc::encode(out, ipc::Body{1, 0, data + "x", {}}));
  const std::string half(room / 2 + 1, 'y');
  EXPECT_FALSE(ipc::encode(out, ipc::Body{1, 0, half, half}));
  EXPECT_TRUE(out.empty());
}

TEST(Frame, WriterRefusesAFixedPartOverItsRoom) {
  std::string out = "keep";
  ipc::FrameWriter w(out, 1, 2);
  w.raw(std::string(ipc::kMaxFixedSize - 4, 'f')).u32(1);  // exactly full
  w.u8(2);
  EXPECT_FALSE(w.finish());
  EXPECT_EQ(out, "keep");
  ipc::FrameWriter fits(out, 1, 2);
  fits.raw(std::string(ipc::kMaxFixedSize - 4, 'f')).u32(1);
  EXPECT_TRUE(fits.finish());
  const std::string written = out.substr(4);
  EXPECT_EQ(only_frame(written).fixed.size(), ipc::kMaxFixedSize);
}

// The writer copies variable fields at finish(); one may view the very string the frame
// goes into (a frame held and sent again), also when that string has to grow for it.
TEST(Frame, AFieldMayViewTheStringItIsWrittenInto) {
  for (const std::size_t spare : {std::size_t{0}, std::size_t{4096}}) {
    std::string out(300, 'a');
    out.reserve(out.size() + spare);
    const std::string expected = out;
    const char* before = out.data();
    ipc::FrameWriter w(out, 5, 6);
    w.bytes(std::string_view(out).substr(0, 300)).bytes(std::string_view(out).substr(10, 5));
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(out.data() == before, spare > 0);  // grown in place only when there was room
    const std::string written = out.substr(300);
    const ipc::Frame frame = only_frame(written);
    ipc::FrameReader r(frame);
    EXPECT_EQ(r.bytes(), expected);
    EXPECT_EQ(r.bytes(), "aaaaa");
    EXPECT_TRUE(r.ok());
  }
}

TEST(Messages, HelloRoundTripAndBadMagic) {
  std::string out;
  ipc::Hello hello;
  hello.role = ipc::Role::queue;
  ASSERT_TRUE(ipc::encode(out, hello));
  ipc::Hello back;
  ASSERT_TRUE(ipc::decode(only_frame(out), back));
  EXPECT_EQ(back.role, ipc::Role::queue);
  EXPECT_EQ(back.min_version, ipc::kProtocolVersion);
  out[16] ^= 1;
  EXPECT_FALSE(ipc::decode(only_frame(out), back));
}

TEST(Messages, HelloWithUnknownRoleIsRejected) {
  std::string out;
  ipc::Hello hello;
  ipc::encode(out, hello);
  out[16 + 8] = 9;
  ipc::Hello back;
  EXPECT_FALSE(ipc::decode(only_frame(out), back));
}

TEST(Messages, ResultAndCalls) {
  std::string out;
  ipc::encode(out, ipc::Result{42, HTTPAPI_ERROR_ACCESS_DENIED, 77, "denied"});
  ipc::Result result;
  ASSERT_TRUE(ipc::decode(only_frame(out), result));
  EXPECT_EQ(result.call, 42u);
  EXPECT_EQ(result.status, static_cast<std::uint32_t>(HTTPAPI_ERROR_ACCESS_DENIED));
  EXPECT_EQ(result.value, 77u);
  EXPECT_EQ(result.detail, "denied");

  out.clear();
  ipc::encode(out, ipc::Type::add_url, ipc::UrlCall{5, 6, 7, "http://+:80/a/"});
  ipc::UrlCall url;
  ASSERT_TRUE(ipc::decode(only_frame(out), url));
  EXPECT_EQ(url.call, 5u);
  EXPECT_EQ(url.group, 6u);
  EXPECT_EQ(url.context, 7u);
  EXPECT_EQ(url.prefix, "http://+:80/a/");

  out.clear();
  ipc::encode(out, ipc::BindGroup{1, 2, 3});
  ipc::BindGroup bind;
  ASSERT_TRUE(ipc::decode(only_frame(out), bind));
  EXPECT_EQ(bind.queue, 3u);
}

TEST(Messages, RequestRoundTrip) {
  std::string headers;
  ipc::append_header(headers, "Host", "example");
  ipc::append_header(headers, "X-Empty", "");
  ipc::Request m;
  m.request = 11;
  m.connection = 12;
  m.url_context = 13;
  m.flags = 1;
  m.version_minor = 0;
  m.port = 8080;
  const std::string local = sockaddr_bytes('L');
  const std::string remote = sockaddr_bytes('R');
  m.local_address = local;
  m.remote_address = remote;
  m.method = "POST";
  m.raw_url = "/a%2Fb?x";
  m.full_url = "http://example:8080/a/b?x";
  m.host = "example";
  m.path = "/a/b";
  m.query = "x";
  m.headers = headers;
  const std::string body("\0body", 5);
  m.body = body;
  std::string out;
  ASSERT_TRUE(ipc::encode(out, m));
  ipc::Request back;
  ASSERT_TRUE(ipc::decode(only_frame(out), back));
  EXPECT_EQ(back.request, 11u);
  EXPECT_EQ(back.connection, 12u);
  EXPECT_EQ(back.url_context, 13u);
  EXPECT_EQ(back.version_minor, 0);
  EXPECT_EQ(back.port, 8080);
  EXPECT_EQ(back.local_address, local);
  EXPECT_EQ(back.remote_address, remote);
  EXPECT_EQ(back.raw_url, "/a%2Fb?x");
  EXPECT_EQ(back.body, body);
  ipc::HeaderListReader reader(back.headers);
  std::string_view name, value;
  ASSERT_TRUE(reader.next(name, value));
  EXPECT_EQ(name, "Host");
  EXPECT_EQ(value, "example");
  ASSERT_TRUE(reader.next(name, value));
  EXPECT_EQ(name, "X-Empty");
  EXPECT_EQ(value, "");
  EXPECT_FALSE(reader.next(name, value));
  EXPECT_TRUE(reader.ok());
}

TEST(Messages, RequestNeedsFullSockaddrs) {
  ipc::Request m;
  m.local_address = "short";
  m.remote_address = "short";
  std::string out;
  EXPECT_FALSE(ipc::encode(out, m));
  EXPECT_TRUE(out.empty());
}

TEST(Messages, MalformedHeaderListIsRejected) {
  std::string headers;
  ipc::append_header(headers, "Name", "Value");
  headers.resize(headers.size() - 2);  // the value runs past the list
  EXPECT_EQ(ipc::count_headers(headers), -1);
  std::string out;
  ipc::encode(out, ipc::SendResponse{1, 0, 200, 0, 0, "", headers, ""});
  ipc::SendResponse m;
  EXPECT_FALSE(ipc::decode(only_frame(out), m));
}

TEST(Messages, LogData) {
  std::string out;
  ASSERT_TRUE(ipc::encode(out, ipc::LogData{9, 7, "alice@example"}));
  ipc::LogData m;
  ASSERT_TRUE(ipc::decode(only_frame(out), m));
  EXPECT_EQ(m.request, 9u);
  EXPECT_EQ(m.substatus, 7u);
  EXPECT_EQ(m.username, "alice@example");
  out.clear();
  ipc::encode(out, ipc::Cancel{9});
  EXPECT_FALSE(ipc::decode(only_frame(out), m));  // another type
}

TEST(Messages, BodyAndSends) {
  std::string out;
  std::string trailers;
  ipc::append_header(trailers, "Checksum", "abc");
  ipc::encode(out, ipc::Body{9, ipc::kBodyEnd, "tail", trailers});
  ipc::encode(out, ipc::SendBody{9, 2, "more"});
  ipc::encode(out, ipc::SendTrailers{9, trailers});
  ipc::encode(out, ipc::Cancel{9});
  ipc::encode(out, ipc::RequestGone{9});
  ipc::encode(out, ipc::ReadBody{9, 4096});
  std::string_view rest = out;
  ipc::Frame f;
  std::size_t consumed = 0;
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  ipc::Body body;
  ASSERT_TRUE(ipc::decode(f, body));
  EXPECT_EQ(body.data, "tail");
  EXPECT_EQ(body.flags, ipc::kBodyEnd);
  EXPECT_EQ(body.trailers, trailers);
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  ipc::SendBody send;
  ASSERT_TRUE(ipc::decode(f, send));
  EXPECT_EQ(send.data, "more");
  EXPECT_EQ(send.flags, 2u);
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  ipc::SendTrailers end;
  ASSERT_TRUE(ipc::decode(f, end));
  EXPECT_EQ(end.request, 9u);
  EXPECT_EQ(end.trailers, trailers);
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  ipc::Cancel cancel;
  ASSERT_TRUE(ipc::decode(f, cancel));
  EXPECT_EQ(cancel.request, 9u);
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  ipc::RequestGone gone;
  ASSERT_TRUE(ipc::decode(f, gone));
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  ipc::ReadBody read;
  ASSERT_TRUE(ipc::decode(f, read));
  EXPECT_EQ(read.max_bytes, 4096u);
}

TEST(Messages, QueueShutdownAndDecline) {
  std::string out;
  ipc::encode(out, ipc::ShutdownQueue{5});
  ipc::encode(out, ipc::QueueShutdown{77});
  ipc::encode(out, ipc::Decline{9});
  std::string_view rest = out;
  ipc::Frame f;
  std::size_t consumed = 0;
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(f.type, 28);
  ipc::ShutdownQueue call;
  ASSERT_TRUE(ipc::decode(f, call));
  EXPECT_EQ(call.call, 5u);
  ipc::Decline wrong_type;
  EXPECT_FALSE(ipc::decode(f, wrong_type));
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(f.type, 43);
  ipc::QueueShutdown notice;
  ASSERT_TRUE(ipc::decode(f, notice));
  EXPECT_EQ(notice.queue, 77u);
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(f.type, 29);
  ipc::Decline decline;
  ASSERT_TRUE(ipc::decode(f, decline));
  EXPECT_EQ(decline.request, 9u);
}

TEST(Messages, SeenIsATag) {
  std::string out;
  ASSERT_TRUE(ipc::encode(out, ipc::Seen{42}));
  EXPECT_EQ(out.size(), ipc::kHeaderSize);
  ipc::Seen seen;
  ASSERT_TRUE(ipc::decode(only_frame(out), seen));
  EXPECT_EQ(seen.request, 42u);
  ipc::Decline wrong_type;
  EXPECT_FALSE(ipc::decode(only_frame(out), wrong_type));
}

// The service marks a stored request frame each time it hands it over; the other flags and
// fields stay as they were.
TEST(Messages, BacklogMarkSetsAndClearsOnlyItsBit) {
  ipc::Request m;
  m.request = 5;
  m.url_context = 0xffffffffffffffffu;
  m.flags = 0x3;  // MORE_BODY | IP_ROUTED
  const std::string local = sockaddr_bytes('L');
  m.local_address = local;
  m.remote_address = local;
  m.raw_url = "/x";
  std::string frame;
  ASSERT_TRUE(ipc::encode(frame, m));
  ipc::mark_backlog(frame, true);
  ipc::Request back;
  ASSERT_TRUE(ipc::decode(only_frame(frame), back));
  EXPECT_EQ(back.flags, m.flags | ipc::kRequestBacklog);
  EXPECT_EQ(back.url_context, m.url_context);
  EXPECT_EQ(back.version_major, 1);
  ipc::mark_backlog(frame, false);
  ASSERT_TRUE(ipc::decode(only_frame(frame), back));
  EXPECT_EQ(back.flags, m.flags);
  EXPECT_EQ(back.raw_url, "/x");
}

TEST(Messages, FragmentCalls) {
  std::string out;
  ipc::encode(out, ipc::AddFragment{3, 2, 30, "http://+:80/a/f", "bytes"});  // 2: time to live
  ipc::encode(out, ipc::ReadFragment{4, 2, UINT64_MAX, "http://+:80/a/f"});
  std::string_view rest = out;
  ipc::Frame f;
  std::size_t consumed = 0;
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(f.type, 33);
  ipc::AddFragment add;
  ASSERT_TRUE(ipc::decode(f, add));
  EXPECT_EQ(add.call, 3u);
  EXPECT_EQ(add.cache_kind, 2);
  EXPECT_EQ(add.cache_seconds, 30u);
  EXPECT_EQ(add.name, "http://+:80/a/f");
  EXPECT_EQ(add.data, "bytes");
  ipc::ReadFragment wrong_type;
  EXPECT_FALSE(ipc::decode(f, wrong_type));
  rest.remove_prefix(consumed);
  ASSERT_EQ(ipc::next_frame(rest, f, consumed), ipc::FrameStatus::complete);
  ipc::ReadFragment read;
  ASSERT_TRUE(ipc::decode(f, read));
  EXPECT_EQ(read.call, 4u);
  EXPECT_EQ(read.offset, 2u);
  EXPECT_EQ(read.length, UINT64_MAX);
  EXPECT_EQ(read.name, "http://+:80/a/f");
}
