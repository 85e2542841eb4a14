// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/caps.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace dashctl::util {
namespace {

struct Sets {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  bool read() { return ::syscall(SYS_capget, &header, data) == 0; }
};

}  // namespace

bool has_capability(int cap) {
  Sets s;
  if (cap < 0 || cap / 32 >= _LINUX_CAPABILITY_U32S_3 || !s.read()) return false;
  return (s.data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

void keep_capabilities_from_children() {
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  Sets s;
  if (!s.read()) return;
  bool any = false;
  for (auto& d : s.data) {
    any = any || d.inheritable != 0;
    d.inheritable = 0;
  }
  if (any) ::syscall(SYS_capset, &s.header, s.data);
}

}  // namespace dashctl::util
