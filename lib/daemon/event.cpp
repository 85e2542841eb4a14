// Written next.
#include "daemon/event.h"
