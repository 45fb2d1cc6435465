// Range field parsing and resolution, including every overflow form of MS15-034. Inputs sit
// flush against a guard page, so a read past the value faults.
#include "http1/byte_ranges.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

namespace httpapi::http1 {
namespace {

struct Parsed {
  RangeSyntax syntax;
  std::vector<RangeSpec> specs;
};

Parsed parse(std::string_view value, std::size_t capacity = 16) {
  test::Guarded guarded(value);
  std::vector<RangeSpec> storage(capacity);
  std::size_t count = 99;
  const RangeSyntax syntax = parse_range(guarded.view(), storage, count);
  storage.resize(count);
  return {syntax, storage};
}

struct Resolved {
  RangeOutcome outcome;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // offset, length
};

Resolved resolve(std::string_view value, std::uint64_t length) {
  const Parsed p = parse(value);
  EXPECT_EQ(p.syntax, RangeSyntax::ok) << value;
  std::vector<ByteRange> out(p.specs.size());
  std::size_t count = 0;
  const RangeOutcome outcome = resolve_ranges(p.specs, length, out, count);
  Resolved r{outcome, {}};
  for (std::size_t i = 0; i < count; ++i) r.ranges.emplace_back(out[i].offset, out[i].length);
  return r;
}

using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

TEST(ByteRanges, TheThreeForms) {
  EXPECT_EQ(resolve("bytes=0-10", 100).ranges, (Ranges{{0, 11}}));
  EXPECT_EQ(resolve("bytes=90-", 100).ranges, (Ranges{{90, 10}}));
  EXPECT_EQ(resolve("bytes=-5", 100).ranges, (Ranges{{95, 5}}));
  EXPECT_EQ(resolve("bytes=0-10,15-20", 100).ranges, (Ranges{{0, 11}, {15, 6}}));
  EXPECT_EQ(resolve("bytes=0-10,15-20", 100).outcome, RangeOutcome::partial);
}

TEST(ByteRanges, ListSyntax) {
  EXPECT_EQ(resolve("BYTES=1-2", 10).ranges, (Ranges{{1, 2}}));
  EXPECT_EQ(resolve("bytes= 1-2 ,\t, 4-5 ", 10).ranges, (Ranges{{1, 2}, {4, 2}}));
  EXPECT_EQ(parse("bytes=").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes=,,").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes 0-1").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("=0-1").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes=1 -2").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes=5-1").syntax, RangeSyntax::invalid);  // last < first
  EXPECT_EQ(parse("bytes=-").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes=1-2-3").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes=+1-2").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes=0x1-2").syntax, RangeSyntax::invalid);
  EXPECT_EQ(parse("bytes=0-1,x").syntax, RangeSyntax::invalid);
  EXPECT_TRUE(parse("bytes=0-1,x").specs.empty());
  EXPECT_EQ(parse("items=0-1").syntax, RangeSyntax::other_unit);
  EXPECT_EQ(parse("b y=0-1").syntax, RangeSyntax::invalid);
}

TEST(ByteRanges, TooManyRangesAreIgnored) {
  EXPECT_EQ(parse("bytes=0-0,2-2,4-4", 2).syntax, RangeSyntax::too_many);
  EXPECT_TRUE(parse("bytes=0-0,2-2,4-4", 2).specs.empty());
  EXPECT_EQ(parse("bytes=0-0,2-2", 2).syntax, RangeSyntax::ok);
}

// MS15-034 and its relatives: numbers at and beyond 2^64 - 1 in every position.
TEST(ByteRanges, OverflowFormsOfMs15034) {
  // A last-byte-pos past the end means the end: the whole representation as a 206.
  EXPECT_EQ(resolve("bytes=0-18446744073709551615", 100).ranges, (Ranges{{0, 100}}));
  EXPECT_EQ(resolve("bytes=18-18446744073709551615", 100).ranges, (Ranges{{18, 82}}));
  EXPECT_EQ(resolve("bytes=0-18446744073709551616", 100).ranges, (Ranges{{0, 100}}));
  EXPECT_EQ(resolve("bytes=0-99999999999999999999999999999", 100).ranges, (Ranges{{0, 100}}));
  // A first-byte-pos past the end selects nothing.
  EXPECT_EQ(resolve("bytes=18446744073709551615-", 100).outcome, RangeOutcome::unsatisfiable);
  EXPECT_EQ(resolve("bytes=18446744073709551615-18446744073709551615", 100).outcome,
            RangeOutcome::unsatisfiable);
  EXPECT_EQ(resolve("bytes=99999999999999999999999-", 100).outcome, RangeOutcome::unsatisfiable);
  // A huge suffix is the whole representation.
  EXPECT_EQ(resolve("bytes=-18446744073709551615", 100).ranges, (Ranges{{0, 100}}));
  EXPECT_EQ(resolve("bytes=-99999999999999999999999", 100).ranges, (Ranges{{0, 100}}));
  // The same on a representation whose length is itself near 2^64.
  EXPECT_EQ(resolve("bytes=0-18446744073709551615", UINT64_MAX).ranges,
            (Ranges{{0, UINT64_MAX}}));
  EXPECT_EQ(resolve("bytes=-1", UINT64_MAX).ranges, (Ranges{{UINT64_MAX - 1, 1}}));
}

TEST(ByteRanges, Unsatisfiable) {
  EXPECT_EQ(resolve("bytes=100-", 100).outcome, RangeOutcome::unsatisfiable);
  EXPECT_EQ(resolve("bytes=100-200", 100).outcome, RangeOutcome::unsatisfiable);
  EXPECT_EQ(resolve("bytes=-0", 100).outcome, RangeOutcome::unsatisfiable);
  EXPECT_EQ(resolve("bytes=0-0", 0).outcome, RangeOutcome::unsatisfiable);
  EXPECT_EQ(resolve("bytes=-5", 0).outcome, RangeOutcome::unsatisfiable);
  // Unsatisfiable members are dropped when others are fine.
  EXPECT_EQ(resolve("bytes=200-300,0-1", 100).ranges, (Ranges{{0, 2}}));
}

TEST(ByteRanges, OverlapThatAmplifiesGetsTheWholeRepresentation) {
  EXPECT_EQ(resolve("bytes=0-,0-,0-", 100).outcome, RangeOutcome::full);
  EXPECT_EQ(resolve("bytes=0-60,40-99", 100).outcome, RangeOutcome::full);
  // Overlap that stays within the length is served as asked.
  EXPECT_EQ(resolve("bytes=0-10,5-15", 100).ranges, (Ranges{{0, 11}, {5, 11}}));
}

}  // namespace
}  // namespace httpapi::http1
