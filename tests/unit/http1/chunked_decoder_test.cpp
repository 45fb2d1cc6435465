// Chunked decoder tests: each input is decoded whole, split at every offset and byte by
// byte (keeping the unconsumed tail between calls), against a guard page.
#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace httpapi::http1 {
namespace {

using Status = ChunkedDecoder::Status;
using test::DecodedBody;

DecodedBody decode(std::string_view input, const ChunkedLimits& limits = {}) {
  const test::ChunkedAgreement a = test::decode_all_ways(input, limits);
  EXPECT_EQ(a.disagreement, "") << "input: " << testing::PrintToString(std::string(input));
  return a.whole;
}

TEST(ChunkedDecoder, Basic) {
  const std::string in = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const DecodedBody d = decode(in + "NEXT REQUEST");
  EXPECT_EQ(d.status, Status::done);
  EXPECT_EQ(d.body, "hello world");
  EXPECT_EQ(d.trailers, "");
  EXPECT_EQ(d.consumed, in.size());
}

TEST(ChunkedDecoder, HexSizesAndLeadingZeros) {
  EXPECT_EQ(decode("a\r\n0123456789\r\n000\r\n\r\n").body, "0123456789");
  EXPECT_EQ(decode("A\r\n0123456789\r\n0\r\n\r\n").body, "0123456789");
  EXPECT_EQ(decode("0001\r\nx\r\n0\r\n\r\n").body, "x");
  EXPECT_EQ(decode("0\r\n\r\n").status, Status::done);  // empty body
}

TEST(ChunkedDecoder, Extensions) {
  const char* ok[] = {
      "5;a\r\nhello\r\n0\r\n\r\n",
      "5;a=b;c\r\nhello\r\n0;last\r\n\r\n",
      "5 ; a = b\r\nhello\r\n0\r\n\r\n",
      "5;ilovew3=\"I \\\"love\\\"; \\\\extensions\\\\\";somuchlove=\"x\";blah;foo=bar\r\nhello\r\n0\r\n\r\n",
  };
  for (const char* in : ok) {
    const DecodedBody d = decode(in);
    EXPECT_EQ(d.status, Status::done) << in;
    EXPECT_EQ(d.body, "hello") << in;
  }
  const char* bad[] = {
      "2;\r\naa\r\n0\r\n\r\n",           // no name after ';'
      "2 erfrferferf\r\naa\r\n0\r\n\r\n",  // no ';'
      "2 \r\naa\r\n0\r\n\r\n",           // whitespace alone
      "5;a=\"unbalanced\r\nhello\r\n0\r\n\r\n",
      "5;a=\r\nhello\r\n0\r\n\r\n",
      "5;a=b c\r\nhello\r\n0\r\n\r\n",
      "5;a\x01\r\nhello\r\n0\r\n\r\n",
  };
  for (const char* in : bad) EXPECT_EQ(decode(in).error, Error::bad_request) << in;
}

TEST(ChunkedDecoder, ExtensionLimit) {
  ChunkedLimits limits;
  limits.max_extension_bytes = 10;
  EXPECT_EQ(decode("1;123456789\r\nx\r\n0\r\n\r\n", limits).status, Status::done);  // 10 bytes
  EXPECT_EQ(decode("1;1234567890\r\nx\r\n0\r\n\r\n", limits).error, Error::bad_request);
  // Rejected before the line ends.
  EXPECT_EQ(decode("1;" + std::string(200, 'a'), limits).error, Error::bad_request);
}

TEST(ChunkedDecoder, BareLfIsRejectedEverywhere) {
  EXPECT_EQ(decode("5\nhello\r\n0\r\n\r\n").error, Error::bad_request);       // size line
  EXPECT_EQ(decode("5;a=b\nhello\r\n0\r\n\r\n").error, Error::bad_request);   // extension
  EXPECT_EQ(decode("5\r\nhello\n0\r\n\r\n").error, Error::bad_request);       // after data
  EXPECT_EQ(decode("5\r\nhello\r\n0\n\r\n").error, Error::bad_request);       // last chunk
  EXPECT_EQ(decode("5\r\nhello\r\n0\r\n\n").error, Error::bad_request);       // end
  EXPECT_EQ(decode("5\r\nhello\r\n0\r\nA: b\n\r\n").error, Error::bad_request);  // trailer
}

TEST(ChunkedDecoder, MalformedFraming) {
  EXPECT_EQ(decode("\r\nhello\r\n0\r\n\r\n").error, Error::bad_request);   // no size
  EXPECT_EQ(decode("-5\r\nhello\r\n").error, Error::bad_request);
  EXPECT_EQ(decode("0x5\r\nhello\r\n").error, Error::bad_request);
  EXPECT_EQ(decode("5\r\nhelloX\r\n0\r\n\r\n").error, Error::bad_request);  // data too long
  EXPECT_EQ(decode("5\r\nhello\rX").error, Error::bad_request);
  EXPECT_EQ(decode("3\r\nfoo\r\n\r\n").error, Error::bad_request);         // missing last-chunk
  EXPECT_EQ(decode("5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n").error, Error::bad_request);
  EXPECT_EQ(decode("5\r\nABCDE0\r\n\r\n").error, Error::bad_request);
}

TEST(ChunkedDecoder, SizeOverflow) {
  EXPECT_EQ(decode("FFFFFFFFFFFFFFFF\r\n").status, Status::incomplete);  // 2^64-1 fits
  EXPECT_EQ(decode("10000000000000000\r\n").error, Error::bad_request);  // 2^64 does not
  EXPECT_EQ(decode("000000000000000000000001\r\nx\r\n0\r\n\r\n").body, "x");
}

TEST(ChunkedDecoder, BodyLimit) {
  ChunkedLimits limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(decode("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", limits).status, Status::done);
  const DecodedBody d = decode("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", limits);
  EXPECT_EQ(d.error, Error::entity_too_large);
  EXPECT_EQ(d.body, "hello");  // the oversized chunk is refused before any of it is returned
  limits.max_body_bytes = 0;
  EXPECT_EQ(decode("0\r\n\r\n", limits).status, Status::done);
}

TEST(ChunkedDecoder, Trailers) {
  const DecodedBody d = decode("5\r\nhello\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n");
  EXPECT_EQ(d.status, Status::done);
  EXPECT_EQ(d.trailers, "Vary: *\r\nContent-Type: text/plain\r\n");
  Field fields[4];
  ASSERT_EQ(parse_trailer_fields(d.trailers, fields, 4), 2);
  EXPECT_EQ(fields[0].name, "Vary");
  EXPECT_EQ(fields[1].value, "text/plain");
  EXPECT_EQ(parse_trailer_fields(d.trailers, fields, 1), -1);  // storage too small
  EXPECT_EQ(parse_trailer_fields("", fields, 0), 0);
  EXPECT_EQ(parse_trailer_fields("A: b\n", fields, 4), -1);
  EXPECT_EQ(parse_trailer_fields("A b\r\n", fields, 4), -1);
  EXPECT_EQ(parse_trailer_fields("A: b\r\n c\r\n", fields, 4), -1);
  EXPECT_EQ(parse_trailer_fields("A: b", fields, 4), 1);  // unterminated last line

  EXPECT_EQ(decode("0\r\nBad Name: x\r\n\r\n").error, Error::bad_request);
  EXPECT_EQ(decode("0\r\nA: x\r\n folded\r\n\r\n").error, Error::bad_request);
  EXPECT_EQ(decode(std::string("0\r\nA: \0\r\n\r\n", 11)).error, Error::bad_request);
}

TEST(ChunkedDecoder, TrailerLimit) {
  ChunkedLimits limits;
  limits.max_trailer_bytes = 12;
  EXPECT_EQ(decode("0\r\nA: 1234567\r\n\r\n", limits).status, Status::done);  // 12 bytes
  EXPECT_EQ(decode("0\r\nA: 12345678\r\n\r\n", limits).error, Error::request_too_long);
  EXPECT_EQ(decode("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).error, Error::request_too_long);
  EXPECT_EQ(decode("0\r\nA: " + std::string(100, 'x'), limits).error, Error::request_too_long);
  // Found by fuzz_chunked: a malformed line that ends past the limit is "too long" whether
  // it arrives whole or in pieces (the limit is crossed at an earlier byte).
  EXPECT_EQ(decode("0\r\nhell" + std::string(30, '\0') + "\n\r\n", limits).error,
            Error::request_too_long);
}

TEST(ChunkedDecoder, UnlimitedLimitsDoNotWrap) {
  ChunkedLimits limits;
  limits.max_extension_bytes = SIZE_MAX;
  limits.max_trailer_bytes = SIZE_MAX;
  EXPECT_EQ(decode("1;a=b\r\nx\r\n0\r\nT: 1\r\n\r\n", limits).status, Status::done);
  EXPECT_EQ(decode("1;a=b", limits).status, Status::incomplete);
  EXPECT_EQ(decode("0\r\nT: 1", limits).status, Status::incomplete);
}

TEST(ChunkedDecoder, ErrorAndDoneAreSticky) {
  ChunkedDecoder decoder;
  ChunkedDecoder::Step s = decoder.decode("zz\r\n", {});
  EXPECT_EQ(s.status, Status::error);
  s = decoder.decode("0\r\n\r\n", {});
  EXPECT_EQ(s.status, Status::error);
  EXPECT_EQ(s.error, Error::bad_request);

  ChunkedDecoder ok;
  s = ok.decode("0\r\n\r\n", {});
  EXPECT_EQ(s.status, Status::done);
  EXPECT_TRUE(ok.finished());
  s = ok.decode("more", {});
  EXPECT_EQ(s.status, Status::done);
  EXPECT_EQ(s.consumed, 0u);
}

TEST(ChunkedDecoder, ReportsBodyBytes) {
  ChunkedDecoder decoder;
  std::string_view in = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  while (true) {
    const auto s = decoder.decode(in, {});
    in.remove_prefix(s.consumed);
    if (s.status != Status::data) break;
  }
  EXPECT_EQ(decoder.body_bytes(), 5u);
}

TEST(ChunkedDecoder, LargeBodyInPieces) {
  std::string in;
  std::string expected;
  for (int i = 0; i < 64; ++i) {
    const std::string chunk(2048 + i, static_cast<char>('a' + i % 26));
    char size[16];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    in += std::string(size) + "\r\n" + chunk + "\r\n";
    expected += chunk;
  }
  in += "0\r\n\r\n";
  const test::ChunkedAgreement a = test::decode_all_ways(in, {}, 0);
  EXPECT_EQ(a.whole.body, expected);
  // A few uneven segmentations of the large input.
  for (std::size_t step : {7u, 1000u, 4096u}) {
    std::vector<std::size_t> cuts;
    for (std::size_t k = step; k < in.size(); k += step) cuts.push_back(k);
    EXPECT_EQ(test::decode_in_steps(in, {}, cuts), a.whole) << step;
  }
}

}  // namespace
}  // namespace httpapi::http1
