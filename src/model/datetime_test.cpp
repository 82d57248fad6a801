#include "model/datetime.hpp"

#include <gtest/gtest.h>

namespace labvault::model {
namespace {

TEST(DateTime, Hl7KeepsPrecisionAndZoneOnRoundTrip) {
  for (std::string_view s : {"2014", "201411", "20141113", "2014111309", "201411130917",
                             "20141113091700", "20080818183002.1-0700", "20141006064500+0700"}) {
    auto dt = DateTime::parse_hl7(s);
    ASSERT_TRUE(dt) << s << ": " << dt.error().message;
    EXPECT_EQ(dt->to_hl7(), s);
  }
}

TEST(DateTime, Hl7RejectsImpossibleDatesWithoutEchoingThem) {
  for (std::string_view s : {"2026-13-45T99:00", "20261345", "20230229", "2014111325", "201",
                             "20141113+07", "20141113091700.12345", "abcd"}) {
    auto dt = DateTime::parse_hl7(s);
    ASSERT_FALSE(dt) << s;
    EXPECT_EQ(dt.error().code, ErrorCode::kDataType);
    EXPECT_EQ(dt.error().message.find(s), std::string::npos) << "error echoes the value";
  }
  EXPECT_TRUE(DateTime::parse_hl7("20240229"));  // leap day
}

TEST(DateTime, IsoOutputCarriesZoneWhenTimeIsPresent) {
  auto dt = DateTime::parse_hl7("201411130917");
  ASSERT_TRUE(dt);
  EXPECT_EQ(dt->to_iso(), "2014-11-13T09:17:00Z");
  EXPECT_EQ(dt->to_iso(-300), "2014-11-13T09:17:00-05:00");
  auto with_zone = DateTime::parse_hl7("20080818183002.1-0700");
  EXPECT_EQ(with_zone->to_iso(), "2008-08-18T18:30:02.1-07:00");
  EXPECT_EQ(DateTime::parse_hl7("19670202")->to_iso(), "1967-02-02");
}

TEST(DateTime, IsoParsesWhatToIsoWrites) {
  for (std::string_view s :
       {"1967", "1967-02", "1967-02-02", "2008-08-18T18:30:02.1-07:00", "2014-11-13T09:17:00Z"}) {
    auto dt = DateTime::parse_iso(s);
    ASSERT_TRUE(dt) << s;
    EXPECT_EQ(dt->to_iso(), s);
  }
  for (std::string_view s : {"2014-11-13T09:17", "2014-11-13T09:17:00", "2014-13-01", "14-11-13",
                             "2014-11-13T09:17:00+7"}) {
    EXPECT_FALSE(DateTime::parse_iso(s)) << s;
  }
}

}  // namespace
}  // namespace labvault::model
