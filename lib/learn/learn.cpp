// Written next.
#include "learn/learn.h"
