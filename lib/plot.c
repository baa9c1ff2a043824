/* plot: canvas, anti-aliased primitives, FreeType text, charts and PNG output (see plot.h).
 *
 * Anti-aliasing is analytic: a pixel's coverage is how far its centre lies inside
 * the shape's edge (a line is the set of points within width/2 of a segment, a
 * circle within r of a centre), clamped to [0,1] over a one-pixel ramp. That gives
 * any line width, round caps and joins, and no supersampling buffers. */
#include "plot.h"
#include <ft2build.h>
#include FT_FREETYPE_H
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char* FONTS[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
    NULL,
};

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

int canvas_init(Canvas* cv, int w, int h, Rgb bg, const char* font, char err[ERR_LEN]) {
    memset(cv, 0, sizeof *cv);
    if (w <= 0 || h <= 0 || w > 20000 || h > 20000) {
        snprintf(err, ERR_LEN, "canvas: bad size %d x %d", w, h);
        return -1;
    }
    const char* path = font && *font ? font : NULL;
    for (int i = 0; !path && FONTS[i]; i++)
        if (access(FONTS[i], R_OK) == 0) path = FONTS[i];
    if (!path) {
        snprintf(err, ERR_LEN, "canvas: no DejaVuSans.ttf in %s or the other usual places; install fonts-dejavu-core or pass a font",
                 FONTS[0]);
        return -1;
    }
    FT_Library lib;
    FT_Face face;
    if (FT_Init_FreeType(&lib)) {
        snprintf(err, ERR_LEN, "canvas: FreeType failed to initialise");
        return -1;
    }
    if (FT_New_Face(lib, path, 0, &face)) {
        FT_Done_FreeType(lib);
        snprintf(err, ERR_LEN, "%s: not a font FreeType can read", path);
        return -1;
    }
    cv->w = w; cv->h = h;
    cv->px = malloc_check((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h; i++) { cv->px[3 * i] = bg.r; cv->px[3 * i + 1] = bg.g; cv->px[3 * i + 2] = bg.b; }
    cv->ft = lib;
    cv->face = face;
    return 0;
}

void canvas_free(Canvas* cv) {
    if (cv->face) FT_Done_Face((FT_Face)cv->face);
    if (cv->ft) FT_Done_FreeType((FT_Library)cv->ft);
    free(cv->px);
    memset(cv, 0, sizeof *cv);
}

int canvas_save_png(const Canvas* cv, const char* path, char err[ERR_LEN]) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE* f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, ERR_LEN, "%s: cannot write (%s)", tmp, strerror(errno));
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        unlink(tmp);
        snprintf(err, ERR_LEN, "%s: libpng failed to write", path);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)cv->w, (png_uint_32)cv->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < cv->h; y++) png_write_row(png, cv->px + (size_t)y * cv->w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        snprintf(err, ERR_LEN, "%s: cannot write (%s)", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- primitives ---- */

void plot_blend(Canvas* cv, int x, int y, Rgb c, float a) {
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h || a <= 0) return;
    if (a > 1) a = 1;
    unsigned char* p = cv->px + ((size_t)y * cv->w + x) * 3;
    p[0] = (unsigned char)lrintf(p[0] + (c.r - p[0]) * a);
    p[1] = (unsigned char)lrintf(p[1] + (c.g - p[1]) * a);
    p[2] = (unsigned char)lrintf(p[2] + (c.b - p[2]) * a);
}

/* Coverage of [a, b] over the pixel [i, i+1]. */
static double span_cover(double a, double b, int i) { return clampd(fmin(b, i + 1.0) - fmax(a, (double)i), 0, 1); }

void plot_fill_rect(Canvas* cv, double x0, double y0, double x1, double y1, Rgb c, float alpha) {
    if (x0 > x1) { double t = x0; x0 = x1; x1 = t; }
    if (y0 > y1) { double t = y0; y0 = y1; y1 = t; }
    int ix0 = (int)floor(x0), ix1 = (int)ceil(x1), iy0 = (int)floor(y0), iy1 = (int)ceil(y1);
    for (int y = iy0; y < iy1; y++) {
        double cy = span_cover(y0, y1, y);
        for (int x = ix0; x < ix1; x++) plot_blend(cv, x, y, c, (float)(alpha * cy * span_cover(x0, x1, x)));
    }
}

void plot_rect(Canvas* cv, double x0, double y0, double x1, double y1, double width, Rgb c) {
    double h = width / 2;
    plot_fill_rect(cv, x0 - h, y0 - h, x1 + h, y0 + h, c, 1);
    plot_fill_rect(cv, x0 - h, y1 - h, x1 + h, y1 + h, c, 1);
    plot_fill_rect(cv, x0 - h, y0 + h, x0 + h, y1 - h, c, 1);
    plot_fill_rect(cv, x1 - h, y0 + h, x1 + h, y1 - h, c, 1);
}

/* Distance from (px,py) to the segment (x0,y0)-(x1,y1). */
static double seg_dist(double px, double py, double x0, double y0, double x1, double y1) {
    double dx = x1 - x0, dy = y1 - y0, l2 = dx * dx + dy * dy;
    double t = l2 > 0 ? clampd(((px - x0) * dx + (py - y0) * dy) / l2, 0, 1) : 0;
    double ex = x0 + t * dx - px, ey = y0 + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

void plot_line(Canvas* cv, double x0, double y0, double x1, double y1, double width, Rgb c) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    double r = width / 2;
    int ix0 = (int)floor(fmin(x0, x1) - r - 1), ix1 = (int)ceil(fmax(x0, x1) + r + 1);
    int iy0 = (int)floor(fmin(y0, y1) - r - 1), iy1 = (int)ceil(fmax(y0, y1) + r + 1);
    if (ix0 < 0) ix0 = 0;
    if (iy0 < 0) iy0 = 0;
    if (ix1 > cv->w) ix1 = cv->w;
    if (iy1 > cv->h) iy1 = cv->h;
    /* Hairlines thinner than a pixel keep full width but fade, so they stay visible. */
    double fade = width < 1 ? width : 1, rr = r < 0.5 ? 0.5 : r;
    for (int y = iy0; y < iy1; y++)
        for (int x = ix0; x < ix1; x++) {
            double d = seg_dist(x + 0.5, y + 0.5, x0, y0, x1, y1);
            double a = clampd(rr + 0.5 - d, 0, 1) * fade;
            if (a > 0) plot_blend(cv, x, y, c, (float)a);
        }
}

void plot_dashed(Canvas* cv, double x0, double y0, double x1, double y1, double width, double dash, double gap, Rgb c) {
    double dx = x1 - x0, dy = y1 - y0, len = sqrt(dx * dx + dy * dy);
    if (len <= 0 || dash <= 0) return;
    for (double s = 0; s < len; s += dash + gap) {
        double e = fmin(s + dash, len);
        plot_line(cv, x0 + dx * s / len, y0 + dy * s / len, x0 + dx * e / len, y0 + dy * e / len, width, c);
    }
}

void plot_circle(Canvas* cv, double cx, double cy, double r, Rgb c) {
    if (!isfinite(cx) || !isfinite(cy)) return;
    for (int y = (int)floor(cy - r - 1); y <= (int)ceil(cy + r + 1); y++)
        for (int x = (int)floor(cx - r - 1); x <= (int)ceil(cx + r + 1); x++) {
            double d = hypot(x + 0.5 - cx, y + 0.5 - cy);
            plot_blend(cv, x, y, c, (float)clampd(r + 0.5 - d, 0, 1));
        }
}

/* Filled triangle, 4x4 samples per pixel. */
void plot_triangle(Canvas* cv, double x0, double y0, double x1, double y1, double x2, double y2, Rgb c) {
    double area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
    if (area == 0) return;
    double s = area > 0 ? 1 : -1;
    int ix0 = (int)floor(fmin(x0, fmin(x1, x2))), ix1 = (int)ceil(fmax(x0, fmax(x1, x2)));
    int iy0 = (int)floor(fmin(y0, fmin(y1, y2))), iy1 = (int)ceil(fmax(y0, fmax(y1, y2)));
    for (int y = iy0; y < iy1; y++)
        for (int x = ix0; x < ix1; x++) {
            int in = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    double px = x + (sx + 0.5) / 4, py = y + (sy + 0.5) / 4;
                    double e0 = s * ((x1 - x0) * (py - y0) - (px - x0) * (y1 - y0));
                    double e1 = s * ((x2 - x1) * (py - y1) - (px - x1) * (y2 - y1));
                    double e2 = s * ((x0 - x2) * (py - y2) - (px - x2) * (y0 - y2));
                    in += e0 >= 0 && e1 >= 0 && e2 >= 0;
                }
            if (in) plot_blend(cv, x, y, c, in / 16.0f);
        }
}

void plot_arrow(Canvas* cv, double x0, double y0, double x1, double y1, double width, double head, Rgb c) {
    double dx = x1 - x0, dy = y1 - y0, len = sqrt(dx * dx + dy * dy);
    if (len <= 0) return;
    double ux = dx / len, uy = dy / len, bx = x1 - ux * head, by = y1 - uy * head;
    plot_line(cv, x0, y0, bx + ux * 1, by + uy * 1, width, c);
    plot_triangle(cv, x1, y1, bx - uy * head * 0.5, by + ux * head * 0.5, bx + uy * head * 0.5, by - ux * head * 0.5, c);
}

void plot_fill_between(Canvas* cv, const double* xs, const double* ylo, const double* yhi, int n, Rgb c, float alpha) {
    for (int i = 0; i + 1 < n; i++) {
        if (!isfinite(ylo[i]) || !isfinite(yhi[i]) || !isfinite(ylo[i + 1]) || !isfinite(yhi[i + 1])) continue;
        double xa = xs[i], xb = xs[i + 1];
        if (xb <= xa) continue;
        /* Pixel columns whose centre is in [xa, xb) (the last segment includes xb). */
        int c0 = (int)ceil(xa - 0.5), c1 = (int)ceil(xb - 0.5) - (i + 2 < n ? 1 : 0);
        for (int x = c0; x <= c1; x++) {
            double t = clampd((x + 0.5 - xa) / (xb - xa), 0, 1);
            double a = ylo[i] + t * (ylo[i + 1] - ylo[i]), b = yhi[i] + t * (yhi[i + 1] - yhi[i]);
            if (a > b) { double tt = a; a = b; b = tt; }
            for (int y = (int)floor(a); y < (int)ceil(b); y++) plot_blend(cv, x, y, c, (float)(alpha * span_cover(a, b, y)));
        }
    }
}

/* ---- text ---- */

/* Next UTF-8 code point (invalid bytes read as themselves). */
static unsigned utf8_next(const char** s) {
    const unsigned char* p = (const unsigned char*)*s;
    unsigned c = *p++;
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (n) {
        c &= 0x3F >> n;
        for (int i = 0; i < n && (*p & 0xC0) == 0x80; i++) c = (c << 6) | (*p++ & 0x3F);
    }
    *s = (const char*)p;
    return c;
}

typedef struct { int w, h, base; unsigned char* a; } Alpha;   /* a: (h, w) coverage */

/* Render one line (up to '\n' or NUL) into an alpha mask; w only when a is NULL. */
static void render_line(Canvas* cv, const char* s, const char* end, double size, Alpha* out, int measure_only) {
    FT_Face face = (FT_Face)cv->face;
    FT_Set_Pixel_Sizes(face, 0, (FT_UInt)lrint(size));
    int asc = (int)(face->size->metrics.ascender >> 6), desc = (int)(-face->size->metrics.descender >> 6);
    out->h = asc + desc;
    out->base = asc;
    long pen = 0;
    for (const char* p = s; p < end;) {
        unsigned ch = utf8_next(&p);
        if (FT_Load_Char(face, ch, FT_LOAD_DEFAULT)) continue;
        pen += face->glyph->advance.x;
    }
    out->w = (int)((pen + 63) >> 6) + 2;
    out->a = NULL;
    if (measure_only) return;
    out->a = calloc_check((size_t)out->w * out->h, 1);
    pen = 0;
    for (const char* p = s; p < end;) {
        unsigned ch = utf8_next(&p);
        if (FT_Load_Char(face, ch, FT_LOAD_RENDER)) continue;
        FT_GlyphSlot g = face->glyph;
        int ox = (int)(pen >> 6) + g->bitmap_left, oy = asc - g->bitmap_top;
        for (unsigned r = 0; r < g->bitmap.rows; r++)
            for (unsigned q = 0; q < g->bitmap.width; q++) {
                int X = ox + (int)q, Y = oy + (int)r;
                if (X < 0 || Y < 0 || X >= out->w || Y >= out->h) continue;
                unsigned char v = g->bitmap.buffer[r * g->bitmap.pitch + q];
                unsigned char* d = &out->a[(size_t)Y * out->w + X];
                if (v > *d) *d = v;
            }
        pen += g->advance.x;
    }
}

void plot_text_size(Canvas* cv, const char* s, double size, double* w, double* h) {
    double W = 0;
    int lines = 0, lh = 0;
    for (const char* p = s;; lines++) {
        const char* e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        Alpha a;
        render_line(cv, p, e, size, &a, 1);
        if (a.w > W) W = a.w;
        lh = a.h;
        if (!*e) { lines++; break; }
        p = e + 1;
    }
    *w = W;
    *h = lines > 1 ? lh + (lines - 1) * size * 1.2 : lh;
}

int plot_text(Canvas* cv, const char* s, double x, double y, double size, Rgb c, int ha, int va, int rot90) {
    if (!s || !*s) return 0;
    double bw, bh;
    plot_text_size(cv, s, size, &bw, &bh);
    /* The turned box: width bh, height bw. */
    double W = rot90 ? bh : bw, H = rot90 ? bw : bh;
    double left = ha == HA_LEFT ? x : ha == HA_CENTER ? x - W / 2 : x - W;
    double top = va == VA_TOP ? y : va == VA_MIDDLE ? y - H / 2 : y - H;
    int L = (int)lrint(left), Tp = (int)lrint(top);
    int line = 0;
    for (const char* p = s;; line++) {
        const char* e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        Alpha a;
        render_line(cv, p, e, size, &a, 0);
        int ly = (int)lrint(line * size * 1.2);                 /* line offset inside the block */
        int lx = ha == HA_LEFT ? 0 : ha == HA_CENTER ? (int)lrint((bw - a.w) / 2) : (int)lrint(bw - a.w);
        for (int r = 0; r < a.h; r++)
            for (int q = 0; q < a.w; q++) {
                unsigned char v = a.a[(size_t)r * a.w + q];
                if (!v) continue;
                int tx = lx + q, ty = ly + r;                  /* position in the unturned block */
                if (rot90) plot_blend(cv, L + ty, Tp + (int)bw - 1 - tx, c, v / 255.0f);
                else plot_blend(cv, L + tx, Tp + ty, c, v / 255.0f);
            }
        free(a.a);
        if (!*e) break;
        p = e + 1;
    }
    return 0;
}

/* ---- ticks ---- */

static double nice_step(double lo, double hi, int target) {
    double range = hi - lo;
    if (!(range > 0)) range = fabs(lo) > 0 ? fabs(lo) : 1;
    double rough = range / (target > 0 ? target : 5), mag = pow(10, floor(log10(rough))), r = rough / mag;
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

int nice_ticks(double lo, double hi, int target, double* first, double* step) {
    double st = nice_step(lo, hi, target);
    double f = ceil(lo / st - 1e-9) * st;
    int n = 0;
    for (double v = f; v <= hi + st * 1e-9 && n < 1000; v = f + (++n) * st) {}
    *first = f;
    *step = st;
    return n;
}

void nice_range(double* lo, double* hi, int target) {
    if (!(*hi > *lo)) {
        double d = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= d;
        *hi += d;
    }
    double st = nice_step(*lo, *hi, target);
    *lo = floor(*lo / st + 1e-9) * st;
    *hi = ceil(*hi / st - 1e-9) * st;
}

void tick_label(char* out, size_t cap, double v, double step) {
    int dec = 0;
    while (dec < 8 && fabs(step * pow(10, dec) - lrint(step * pow(10, dec))) > 1e-6 * step * pow(10, dec)) dec++;
    if (fabs(v) < step * 1e-9) v = 0;   /* no "-0.0" */
    snprintf(out, cap, "%.*f", dec, v);
}

/* ---- axes ---- */

void axes_init(Axes* ax, Canvas* cv, double px0, double py0, double px1, double py1, double xmin, double xmax, double ymin,
               double ymax) {
    *ax = (Axes){cv, px0, py0, px1, py1, xmin, xmax, ymin, ymax, 17};
    if (!(ax->xmax > ax->xmin)) ax->xmax = ax->xmin + 1;
    if (!(ax->ymax > ax->ymin)) ax->ymax = ax->ymin + 1;
}

double ax_x(const Axes* ax, double x) { return ax->px0 + (x - ax->xmin) / (ax->xmax - ax->xmin) * (ax->px1 - ax->px0); }
double ax_y(const Axes* ax, double y) { return ax->py1 - (y - ax->ymin) / (ax->ymax - ax->ymin) * (ax->py1 - ax->py0); }

void axes_frame(Axes* ax, const char* title, const char* xlabel, const char* ylabel, int xticks) {
    Canvas* cv = ax->cv;
    double first, step, fs = ax->font, maxw = 0;
    char buf[64];
    int n = nice_ticks(ax->ymin, ax->ymax, 6, &first, &step);
    for (int i = 0; i < n; i++) {
        double v = first + i * step, y = ax_y(ax, v);
        plot_line(cv, ax->px0, y, ax->px1, y, 1, C_LIGHT);
        plot_line(cv, ax->px0 - 6, y, ax->px0, y, 1.5, C_BLACK);
        tick_label(buf, sizeof buf, v, step);
        double w, h;
        plot_text_size(cv, buf, fs, &w, &h);
        if (w > maxw) maxw = w;
        plot_text(cv, buf, ax->px0 - 10, y, fs, C_BLACK, HA_RIGHT, VA_MIDDLE, 0);
    }
    if (xticks) {
        n = nice_ticks(ax->xmin, ax->xmax, 7, &first, &step);
        for (int i = 0; i < n; i++) {
            double v = first + i * step, x = ax_x(ax, v);
            plot_line(cv, x, ax->py0, x, ax->py1, 1, C_LIGHT);
            plot_line(cv, x, ax->py1, x, ax->py1 + 6, 1.5, C_BLACK);
            tick_label(buf, sizeof buf, v, step);
            plot_text(cv, buf, x, ax->py1 + 9, fs, C_BLACK, HA_CENTER, VA_TOP, 0);
        }
    }
    plot_rect(cv, ax->px0, ax->py0, ax->px1, ax->py1, 1.5, C_BLACK);
    if (xlabel) plot_text(cv, xlabel, (ax->px0 + ax->px1) / 2, ax->py1 + 16 + fs * 1.3, fs * 1.1, C_BLACK, HA_CENTER, VA_TOP, 0);
    if (ylabel)
        plot_text(cv, ylabel, ax->px0 - 18 - maxw, (ax->py0 + ax->py1) / 2, fs * 1.1, C_BLACK, HA_RIGHT, VA_MIDDLE, 1);
    if (title) plot_text(cv, title, (ax->px0 + ax->px1) / 2, ax->py0 - 12, fs * 1.25, C_BLACK, HA_CENTER, VA_BOTTOM, 0);
}

void axes_series(Axes* ax, const double* x, const double* y, int n, Rgb c, double width, int dashed, double marker) {
    for (int i = 0; i + 1 < n; i++) {
        if (!isfinite(y[i]) || !isfinite(y[i + 1])) continue;
        double x0 = ax_x(ax, x[i]), y0 = ax_y(ax, y[i]), x1 = ax_x(ax, x[i + 1]), y1 = ax_y(ax, y[i + 1]);
        if (dashed) plot_dashed(ax->cv, x0, y0, x1, y1, width, 4 * width, 3 * width, c);
        else plot_line(ax->cv, x0, y0, x1, y1, width, c);
    }
    if (marker > 0)
        for (int i = 0; i < n; i++)
            if (isfinite(y[i])) plot_circle(ax->cv, ax_x(ax, x[i]), ax_y(ax, y[i]), marker, c);
}

void axes_band(Axes* ax, const double* x, const double* lo, const double* hi, int n, Rgb c, float alpha) {
    double* px = malloc_check(sizeof(double) * (n > 0 ? n : 1));   /* (n,) */
    double* pl = malloc_check(sizeof(double) * (n > 0 ? n : 1));
    double* ph = malloc_check(sizeof(double) * (n > 0 ? n : 1));
    for (int i = 0; i < n; i++) { px[i] = ax_x(ax, x[i]); pl[i] = ax_y(ax, lo[i]); ph[i] = ax_y(ax, hi[i]); }
    plot_fill_between(ax->cv, px, pl, ph, n, c, alpha);
    free(px); free(pl); free(ph);
}

void axes_hline(Axes* ax, double y, Rgb c, const char* label) {
    double py = ax_y(ax, y);
    plot_dashed(ax->cv, ax->px0, py, ax->px1, py, 2, 9, 6, c);
    if (label) plot_text(ax->cv, label, ax->px1 - 6, py - 4, ax->font * 0.95, c, HA_RIGHT, VA_BOTTOM, 0);
}

void axes_bars(Axes* ax, int ngroups, int nseries, const double* val, const double* lo, const double* hi, const Rgb* colors,
               const char* const* group_labels, const char* value_fmt) {
    Canvas* cv = ax->cv;
    double gw = 0.7, bw = gw / (nseries > 0 ? nseries : 1);
    double base = ax_y(ax, ax->ymin > 0 ? ax->ymin : ax->ymax < 0 ? ax->ymax : 0);
    for (int g = 0; g < ngroups; g++) {
        for (int s = 0; s < nseries; s++) {
            double v = val[g * nseries + s];
            if (!isfinite(v)) continue;
            double xa = ax_x(ax, g + 0.5 - gw / 2 + s * bw), xb = ax_x(ax, g + 0.5 - gw / 2 + (s + 1) * bw);
            double top = ax_y(ax, v);
            plot_fill_rect(cv, xa + 1, fmin(top, base), xb - 1, fmax(top, base), colors[s], 1);
            double label_y = top;
            if (lo && hi && isfinite(lo[g * nseries + s]) && isfinite(hi[g * nseries + s])) {
                double ya = ax_y(ax, lo[g * nseries + s]), yb = ax_y(ax, hi[g * nseries + s]), xm = (xa + xb) / 2;
                double cap = fmin(10, (xb - xa) / 4);
                plot_line(cv, xm, ya, xm, yb, 2, C_BLACK);
                plot_line(cv, xm - cap, ya, xm + cap, ya, 2, C_BLACK);
                plot_line(cv, xm - cap, yb, xm + cap, yb, 2, C_BLACK);
                label_y = fmin(label_y, yb);
            }
            if (value_fmt) {
                char buf[64];
                snprintf(buf, sizeof buf, value_fmt, v);
                plot_text(cv, buf, (xa + xb) / 2, label_y - 5, ax->font * 0.95, C_BLACK, HA_CENTER, VA_BOTTOM, 0);
            }
        }
        if (group_labels && group_labels[g])
            plot_text(cv, group_labels[g], ax_x(ax, g + 0.5), ax->py1 + 10, ax->font, C_BLACK, HA_CENTER, VA_TOP, 0);
    }
}

/* Share of a pixel rectangle covered by chart ink: colours (series, bars, bands) and
 * anything darker than the light grey grid; the caller keeps the frame out of the rectangle. */
static double ink(const Canvas* cv, int x0, int y0, int x1, int y1) {
    long n = 0, hit = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) continue;
            const unsigned char* p = cv->px + ((size_t)y * cv->w + x) * 3;
            int mx = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
            int mn = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
            n++;
            hit += mx - mn > 30 || mx < 200;   /* colour, or darker than the grid */
        }
    return n ? (double)hit / n : 0;
}

void axes_legend(Axes* ax, const LegendItem* items, int n) {
    Canvas* cv = ax->cv;
    double fs = ax->font, row = fs * 1.6, sw = 34, pad = 10, tw = 0;
    for (int i = 0; i < n; i++) {
        double w, h;
        plot_text_size(cv, items[i].label, fs, &w, &h);
        if (w > tw) tw = w;
    }
    double W = pad * 3 + sw + tw, H = pad * 2 + row * n, m = 12;
    /* Candidate corners: top-right, top-left, bottom-right, bottom-left, then mid-right, mid-left. */
    double cx[6] = {ax->px1 - m - W, ax->px0 + m, ax->px1 - m - W, ax->px0 + m, ax->px1 - m - W, ax->px0 + m};
    double midy = (ax->py0 + ax->py1 - H) / 2;
    double cy[6] = {ax->py0 + m, ax->py0 + m, ax->py1 - m - H, ax->py1 - m - H, midy, midy};
    int best = 0;
    double bi = 2;
    for (int k = 0; k < 6; k++) {
        double v = ink(cv, (int)cx[k] - 6, (int)cy[k] - 6, (int)(cx[k] + W + 6), (int)(cy[k] + H + 6));
        if (v < bi - 1e-3) { bi = v; best = k; }
    }
    double x = cx[best], y = cy[best];
    plot_fill_rect(cv, x, y, x + W, y + H, C_WHITE, 0.92f);
    plot_rect(cv, x, y, x + W, y + H, 1, C_GREY);
    for (int i = 0; i < n; i++) {
        double yy = y + pad + row * (i + 0.5), xa = x + pad, xb = x + pad + sw;
        switch (items[i].kind) {
        case LEG_DASHED: plot_dashed(cv, xa, yy, xb, yy, 2.5, 7, 4, items[i].c); break;
        case LEG_BOX: plot_fill_rect(cv, xa + 4, yy - fs * 0.45, xb - 4, yy + fs * 0.45, items[i].c, 1); break;
        case LEG_MARKER: plot_circle(cv, (xa + xb) / 2, yy, 5, items[i].c); break;
        default: plot_line(cv, xa, yy, xb, yy, 3, items[i].c);
        }
        plot_text(cv, items[i].label, xb + pad, yy, fs, C_BLACK, HA_LEFT, VA_MIDDLE, 0);
    }
}
