/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* version.c - the run-time version of libiova. */
#include <libiova/version.h>

#include "compiler.h"

LIBIOVA_EXPORT const char *libiova_version(void)
{
	return LIBIOVA_VERSION_STRING;
}
