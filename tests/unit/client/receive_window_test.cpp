// The library's default receive window: it follows how busy the application is.
#include <gtest/gtest.h>

#include <vector>

#include "client/receive_window.hpp"

using httpapi::client::ReceiveWindow;

TEST(ReceiveWindow, StartsAtHttpSysRuleOfOne) {
  EXPECT_EQ(ReceiveWindow().size(), 1u);
}

TEST(ReceiveWindow, DoublesWhileRequestsWaitUpToItsLargest) {
  ReceiveWindow window;
  std::vector<std::uint32_t> sizes;
  for (int i = 0; i < 8; ++i) {
    window.handed_over(true);
    sizes.push_back(window.size());
  }
  EXPECT_EQ(sizes, (std::vector<std::uint32_t>{2, 4, 8, 16, 32, 64, 64, 64}));
  EXPECT_EQ(window.size(), ReceiveWindow::kLargest);
}

TEST(ReceiveWindow, HalvesBackToOneWhenNothingWaits) {
  ReceiveWindow window;
  for (int i = 0; i < 4; ++i) window.handed_over(true);
  std::vector<std::uint32_t> sizes;
  for (int i = 0; i < 6; ++i) {
    window.handed_over(false);
    sizes.push_back(window.size());
  }
  EXPECT_EQ(sizes, (std::vector<std::uint32_t>{8, 4, 2, 1, 1, 1}));
}

TEST(ReceiveWindow, IdleAtOneStaysAtOne) {
  ReceiveWindow window;
  window.handed_over(false);
  EXPECT_EQ(window.size(), 1u);
  window.handed_over(true);
  EXPECT_EQ(window.size(), 2u);
}
