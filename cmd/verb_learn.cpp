// dashctl learn: placeholder until the verb lands (being written now).
#include "cli.h"
namespace dashctl::cmd {
void setup_learn(CLI::App&, Globals&, Action&) {}
}  // namespace dashctl::cmd
