/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Included first in every C file of the Windows build (meson.build adds
 * -include): the few POSIX interfaces mingw-w64 lacks, so that the portable
 * code needs no #ifdef for them.
 */
#ifndef _POSIX_THREAD_SAFE_FUNCTIONS
#define _POSIX_THREAD_SAFE_FUNCTIONS 200112L /* localtime_r, gmtime_r */
#endif

#include <fcntl.h>
#include <stddef.h>

/*
 * open() flags: every descriptor the portable code opens asks for
 * O_CLOEXEC, which on Windows becomes "not inherited by child processes"
 * and binary mode (no CRLF translation of keys and passwords). Windows has
 * no controlling terminal; symbolic links are rare and admin-only to create.
 */
#define O_CLOEXEC  (_O_NOINHERIT | _O_BINARY)
#define O_NOCTTY   0
#define O_NOFOLLOW 0

/* errno values of Linux that the portable code returns; mingw-w64's end at 140. */
#include <errno.h>
#ifndef ESTALE
#define ESTALE 201
#endif
#ifndef ENOKEY
#define ENOKEY 202
#endif
#ifndef EKEYEXPIRED
#define EKEYEXPIRED 203
#endif

/* Zeroes memory the compiler may not optimise away (SecureZeroMemory). */
void explicit_bzero(void *p, size_t n);

/* Flushes a file to disk (_commit). */
int fsync(int fd);
