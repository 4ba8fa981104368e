// SPDX-License-Identifier: LGPL-2.1-or-later
// The C++ compilation of header.c.
#include "header.c"
