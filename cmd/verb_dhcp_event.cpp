// dashctl dhcp-event: placeholder until the verb lands (being written now).
#include "cli.h"
namespace dashctl::cmd {
void setup_dhcp_event(CLI::App&, Globals&, Action&) {}
}  // namespace dashctl::cmd
