/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Files that hold secrets, on Windows. Mode bits mean nothing there: who may
 * read a file is its ACL. A file or directory created private (mode without
 * group or other bits) gets a protected ACL that grants full control to
 * SYSTEM, the Administrators and its owner, and nothing inherited from the
 * parent; others get the parent's ACL. Paths are UTF-8 (GLib's filenames).
 */
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates @path (it must not exist) for writing, in binary mode: a CRT fd, or -errno. */
int tr_win_create_file(const char *path, unsigned mode);

/* Creates the directory @path: 0, or -errno (-EEXIST when it exists). */
int tr_win_mkdir(const char *path, unsigned mode);

/*
 * Whether @path's ACL lets anyone besides SYSTEM, the Administrators and its
 * owner read it (1), not (0), or -errno when it cannot be read.
 */
int tr_win_file_is_shared(const char *path);

/*
 * The daemons' control files (platform/windows/access.h): readable by
 * SYSTEM, the Administrators and the Trellis Users group, when it exists
 * (*@group_used says whether it did). tr_win_create_control_file creates
 * @path (a CRT fd, or -errno), tr_win_protect_control_file gives an existing
 * file that ACL (0 or -errno), tr_win_mkdir_control makes the control
 * directory, which the group may list (0, -EEXIST or -errno).
 */
int tr_win_create_control_file(const char *path, bool *group_used);
int tr_win_protect_control_file(const char *path, bool *group_used);
int tr_win_mkdir_control(const char *path, bool *group_used);

/* The Trellis Users group's name (platform/windows/access.h) in UTF-8. */
void tr_win_users_group_utf8(char *name, int size);

#ifdef __cplusplus
}
#endif
