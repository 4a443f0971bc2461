/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-win-icon.h"

#include <math.h>

typedef struct {
	guint8 r, g, b;
} Colour;

/* Coverage of the pixel (x, y) by what the state's icon draws, 0..1, with
 * 4×4 samples per pixel for smooth edges. */
static double
coverage(TrayState state, int size, int x, int y)
{
	double c = size / 2.0, outer = size / 2.0 - 0.5, ring = size / 7.0;
	int hits = 0;

	for (int sy = 0; sy < 4; sy++)
		for (int sx = 0; sx < 4; sx++) {
			double px = x + (sx + 0.5) / 4.0, py = y + (sy + 0.5) / 4.0;
			double r = hypot(px - c, py - c);
			gboolean in = r <= outer;
			switch (state) {
			case TRAY_STATE_OFF:
			case TRAY_STATE_DISCONNECTED:
				in = in && r >= outer - ring;
				break;
			case TRAY_STATE_CONNECTING:
			case TRAY_STATE_RECONNECTING:
				/* A ring, its left half filled. */
				in = in && (r >= outer - ring || px < c);
				break;
			case TRAY_STATE_ERROR:
			case TRAY_STATE_NEEDS_PASSWORD:
				/* A disc with a white bar across: see tray_win_icon_new. */
				break;
			case TRAY_STATE_CONNECTED:
				break;
			}
			hits += in;
		}
	return hits / 16.0;
}

static gboolean
in_bar(TrayState state, int size, int x, int y)
{
	if (state != TRAY_STATE_ERROR && state != TRAY_STATE_NEEDS_PASSWORD)
		return FALSE;
	return y >= size * 7 / 16 && y < size * 9 / 16 + (size < 20) && x >= size / 4 &&
	       x < size - size / 4;
}

HICON
tray_win_icon_new(TrayState state)
{
	int size = GetSystemMetrics(SM_CXSMICON);
	Colour colour = {0x80, 0x80, 0x80};
	BITMAPV5HEADER bi = {0};
	guint32 *pixels = NULL;
	HDC dc;
	HBITMAP colour_bm, mask_bm;
	ICONINFO ii = {0};
	HICON icon;

	if (size < 16)
		size = 16;
	switch (state) {
	case TRAY_STATE_CONNECTED:
		colour = (Colour){0x2e, 0xa0, 0x43};
		break;
	case TRAY_STATE_CONNECTING:
	case TRAY_STATE_RECONNECTING:
		colour = (Colour){0xe0, 0x9a, 0x10};
		break;
	case TRAY_STATE_ERROR:
	case TRAY_STATE_NEEDS_PASSWORD:
		colour = (Colour){0xd0, 0x30, 0x30};
		break;
	case TRAY_STATE_OFF:
	case TRAY_STATE_DISCONNECTED:
		break;
	}
	bi.bV5Size = sizeof(bi);
	bi.bV5Width = size;
	bi.bV5Height = -size; /* top-down */
	bi.bV5Planes = 1;
	bi.bV5BitCount = 32;
	bi.bV5Compression = BI_RGB;
	dc = GetDC(NULL);
	colour_bm =
	        CreateDIBSection(dc, (BITMAPINFO *)&bi, DIB_RGB_COLORS, (void **)&pixels, NULL, 0);
	ReleaseDC(NULL, dc);
	if (colour_bm == NULL)
		return LoadIcon(NULL, IDI_APPLICATION);
	for (int y = 0; y < size; y++)
		for (int x = 0; x < size; x++) {
			double a = coverage(state, size, x, y);
			guint8 alpha = (guint8)lround(a * 255);
			Colour c = in_bar(state, size, x, y) ? (Colour){0xff, 0xff, 0xff} : colour;
			/* Premultiplied BGRA. */
			pixels[y * size + x] =
			        (guint32)alpha << 24 | (guint32)(c.r * alpha / 255) << 16 |
			        (guint32)(c.g * alpha / 255) << 8 | (guint32)(c.b * alpha / 255);
		}
	mask_bm = CreateBitmap(size, size, 1, 1, NULL);
	ii.fIcon = TRUE;
	ii.hbmColor = colour_bm;
	ii.hbmMask = mask_bm;
	icon = CreateIconIndirect(&ii);
	DeleteObject(colour_bm);
	DeleteObject(mask_bm);
	return icon ? icon : LoadIcon(NULL, IDI_APPLICATION);
}
