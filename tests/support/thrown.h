// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The tests' way to look at an error: the util::Error a call throws.

#include "support/catch.h"

#include <functional>

#include "util/error.h"

namespace dashctl::test {

/// The util::Error that `f` throws; the test fails when it throws none.
inline util::Error thrown_by(const std::function<void()>& f) {
  try {
    f();
  } catch (const util::Error& e) {
    return e;
  }
  FAIL("no error");
  return util::Error(util::Exit::ok, "");
}

}  // namespace dashctl::test
