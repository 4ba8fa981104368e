/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compiles one public header, named by LIBIOVA_HEADER, on its own: it must
 * include what it needs and survive a second inclusion.  The same file is
 * compiled as C++ through header.cpp.
 */
#include LIBIOVA_HEADER
#include LIBIOVA_HEADER

int main(void)
{
	return 0;
}
