/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

/*
 * The network magic: the first 4 bytes of every data-channel packet. It tells
 * one Trellis network from another (and from other protocols on the port) and
 * is authenticated as part of the header. All nodes of a network use the same.
 */
typedef struct {
	uint8_t bytes[4];
} TrMagic;

/* The default magic, "trl\x01" (74 72 6c 01); as text "74726c01". */
#define TR_MAGIC_DEFAULT_TEXT "74726c01"
#define TR_MAGIC_DEFAULT      ((TrMagic){.bytes = {0x74, 0x72, 0x6c, 0x01}})

/* "74726c01\0" */
#define TR_MAGIC_STRLEN 9

/*
 * Parses a magic as the config and command line give it: exactly 8 hex
 * digits ("74726c01"), or "hash:TEXT", which is the first 4 bytes of
 * SHA-256(TEXT) (TEXT as UTF-8 bytes, without the "hash:" prefix and without
 * a terminating NUL; it may be empty).
 */
gboolean tr_magic_parse(const char *text, TrMagic *out, GError **error);

/* Formats @magic as 8 lowercase hex digits into @buf (TR_MAGIC_STRLEN bytes). */
char *tr_magic_to_string(const TrMagic *magic, char buf[TR_MAGIC_STRLEN]);

static inline bool
tr_magic_equal(const TrMagic *a, const TrMagic *b)
{
	return a->bytes[0] == b->bytes[0] && a->bytes[1] == b->bytes[1] &&
	       a->bytes[2] == b->bytes[2] && a->bytes[3] == b->bytes[3];
}

G_END_DECLS
