/* plot: one drawing, two outputs (see plot.h).
 *
 * Every primitive draws into a cairo recording surface in pixel coordinates. The
 * PNG is that recording replayed onto an RGB image (cairo's exact-area
 * anti-aliasing) and written with libpng; the PDF is the same recording replayed
 * onto a cairo PDF surface, so lines, shapes and text stay vectors (the text
 * embedded as a subset of the font, searchable). The font is the one FreeType file
 * both outputs use, without hinting, so the layout does not depend on the output. */
#include "plot.h"
#include "atomic.h"
#include <cairo.h>
#include <cairo-ft.h>
#include <cairo-pdf.h>
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

#define CR(cv) ((cairo_t*)(cv)->cr)

static void face_done(void* face) { FT_Done_Face((FT_Face)face); }

int canvas_init(Canvas* cv, int w, int h, Rgb bg, const char* font, char err[ERR_LEN]) {
    memset(cv, 0, sizeof *cv);
    if (w <= 0 || h <= 0 || w > 20000 || h > 20000) {
        errf(err, "canvas: bad size %d x %d", w, h);
        return -1;
    }
    const char* path = font && *font ? font : NULL;
    for (int i = 0; !path && FONTS[i]; i++)
        if (access(FONTS[i], R_OK) == 0) path = FONTS[i];
    if (!path) {
        errf(err, "canvas: no DejaVuSans.ttf in %s or the other usual places; install fonts-dejavu-core or pass a font",
                 FONTS[0]);
        return -1;
    }
    /* One FreeType library for the process, and each face freed by cairo when it drops
     * the font face: cairo keeps font faces in its caches past the canvas that made them. */
    static FT_Library lib;
    FT_Face face;
    if (!lib && FT_Init_FreeType(&lib)) {
        lib = NULL;
        errf(err, "canvas: FreeType failed to initialise");
        return -1;
    }
    if (FT_New_Face(lib, path, 0, &face)) {
        errf(err, "%s: not a font FreeType can read", path);
        return -1;
    }
    static const cairo_user_data_key_t face_key;
    cairo_font_face_t* ff = cairo_ft_font_face_create_for_ft_face(face, 0);
    if (cairo_font_face_set_user_data(ff, &face_key, face, face_done)) {
        cairo_font_face_destroy(ff);
        FT_Done_Face(face);
        errf(err, "canvas: cairo failed to take the font %s", path);
        return -1;
    }
    cairo_rectangle_t extent = {0, 0, w, h};
    cairo_surface_t* rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extent);
    cairo_t* cr = cairo_create(rec);
    if (cairo_status(cr)) {
        errf(err, "canvas: cairo failed to start (%s)", cairo_status_to_string(cairo_status(cr)));
        cairo_font_face_destroy(ff);
        cairo_destroy(cr);
        cairo_surface_destroy(rec);
        return -1;
    }
    cairo_set_font_face(cr, ff);
    cairo_font_options_t* fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cv->w = w; cv->h = h;
    cv->rec = rec; cv->cr = cr; cv->font = ff;
    plot_fill_rect(cv, 0, 0, w, h, bg, 1);
    return 0;
}

void canvas_free(Canvas* cv) {
    if (cv->cr) cairo_destroy(CR(cv));
    if (cv->font) cairo_font_face_destroy((cairo_font_face_t*)cv->font);   /* the FT face goes with cairo's last reference */
    if (cv->rec) cairo_surface_destroy((cairo_surface_t*)cv->rec);
    memset(cv, 0, sizeof *cv);
}

unsigned char* canvas_rgb(const Canvas* cv) {
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cv->w, cv->h);
    cairo_t* cr = cairo_create(img);
    cairo_set_source_surface(cr, (cairo_surface_t*)cv->rec, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_flush(img);
    const unsigned char* data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    unsigned char* rgb = malloc_check((size_t)cv->w * cv->h * 3);   /* (h, w, 3) */
    for (int y = 0; y < cv->h; y++)
        for (int x = 0; x < cv->w; x++) {
            uint32_t p;   /* native-endian 0x00RRGGBB */
            memcpy(&p, data + (size_t)y * stride + 4 * (size_t)x, 4);
            unsigned char* o = rgb + ((size_t)y * cv->w + x) * 3;
            o[0] = (unsigned char)(p >> 16); o[1] = (unsigned char)(p >> 8); o[2] = (unsigned char)p;
        }
    cairo_surface_destroy(img);
    return rgb;
}

int canvas_save_png(const Canvas* cv, const char* path, char err[ERR_LEN]) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE* f = fopen(tmp, "wb");
    if (!f) {
        errf(err, "%s: cannot write (%s)", tmp, strerror(errno));
        return -1;
    }
    unsigned char* rgb = canvas_rgb(cv);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        unlink(tmp);
        free(rgb);
        errf(err, "%s: libpng failed to write", path);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)cv->w, (png_uint_32)cv->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < cv->h; y++) png_write_row(png, rgb + (size_t)y * cv->w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rgb);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        errf(err, "%s: cannot write (%s)", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

typedef struct { unsigned char* p; size_t n, cap; } Bytes;

static cairo_status_t bytes_write(void* closure, const unsigned char* data, unsigned int len) {
    Bytes* b = closure;
    if (b->n + len > b->cap) {
        b->cap = (b->n + len) * 2;
        b->p = realloc_check(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

int canvas_save_pdf(const Canvas* cv, const char* path, char err[ERR_LEN]) {
    Bytes b = {0};
    cairo_surface_t* pdf = cairo_pdf_surface_create_for_stream(bytes_write, &b, cv->w * PLOT_PDF_SCALE, cv->h * PLOT_PDF_SCALE);
    /* No clock in the file: the same drawing gives the same bytes. */
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATE_DATE, "");
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_MOD_DATE, "");
    cairo_t* cr = cairo_create(pdf);
    cairo_scale(cr, PLOT_PDF_SCALE, PLOT_PDF_SCALE);
    cairo_set_source_surface(cr, (cairo_surface_t*)cv->rec, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    cairo_status_t st = cairo_surface_status(pdf);
    cairo_surface_destroy(pdf);
    int rc = -1;
    if (st) errf(err, "%s: cairo failed to draw the PDF (%s)", path, cairo_status_to_string(st));
    else rc = atomic_write(path, b.p, b.n, err);
    free(b.p);
    return rc;
}

/* ---- primitives ---- */

static void source(Canvas* cv, Rgb c, double alpha) { cairo_set_source_rgba(CR(cv), c.r / 255.0, c.g / 255.0, c.b / 255.0, alpha); }

void plot_fill_rect(Canvas* cv, double x0, double y0, double x1, double y1, Rgb c, float alpha) {
    cairo_t* cr = CR(cv);
    cairo_rectangle(cr, fmin(x0, x1), fmin(y0, y1), fabs(x1 - x0), fabs(y1 - y0));
    source(cv, c, alpha);
    cairo_fill(cr);
}

void plot_rect(Canvas* cv, double x0, double y0, double x1, double y1, double width, Rgb c) {
    cairo_t* cr = CR(cv);
    cairo_save(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_rectangle(cr, fmin(x0, x1), fmin(y0, y1), fabs(x1 - x0), fabs(y1 - y0));
    cairo_set_line_width(cr, width);
    source(cv, c, 1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* A stroked segment with round caps; dash > 0 draws it dashed (each dash round-capped). */
static void stroke_segment(Canvas* cv, double x0, double y0, double x1, double y1, double width, double dash, double gap, Rgb c) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    cairo_t* cr = CR(cv);
    cairo_save(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_width(cr, width);
    if (dash > 0) {
        double d[2] = {dash, gap + width};   /* round caps add width/2 at both ends of a dash */
        cairo_set_dash(cr, d, 2, 0);
    }
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    source(cv, c, 1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

void plot_line(Canvas* cv, double x0, double y0, double x1, double y1, double width, Rgb c) {
    stroke_segment(cv, x0, y0, x1, y1, width, 0, 0, c);
}

void plot_dashed(Canvas* cv, double x0, double y0, double x1, double y1, double width, double dash, double gap, Rgb c) {
    if (dash <= 0) return;
    stroke_segment(cv, x0, y0, x1, y1, width, dash, gap, c);
}

void plot_circle(Canvas* cv, double cx, double cy, double r, Rgb c) {
    if (!isfinite(cx) || !isfinite(cy)) return;
    cairo_arc(CR(cv), cx, cy, r, 0, 2 * M_PI);
    source(cv, c, 1);
    cairo_fill(CR(cv));
}

void plot_triangle(Canvas* cv, double x0, double y0, double x1, double y1, double x2, double y2, Rgb c) {
    cairo_t* cr = CR(cv);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_line_to(cr, x2, y2);
    cairo_close_path(cr);
    source(cv, c, 1);
    cairo_fill(cr);
}

void plot_arrow(Canvas* cv, double x0, double y0, double x1, double y1, double width, double head, Rgb c) {
    double dx = x1 - x0, dy = y1 - y0, len = sqrt(dx * dx + dy * dy);
    if (len <= 0) return;
    double ux = dx / len, uy = dy / len, bx = x1 - ux * head, by = y1 - uy * head;
    plot_line(cv, x0, y0, bx + ux * 1, by + uy * 1, width, c);
    plot_triangle(cv, x1, y1, bx - uy * head * 0.5, by + ux * head * 0.5, bx + uy * head * 0.5, by - ux * head * 0.5, c);
}

void plot_fill_between(Canvas* cv, const double* xs, const double* ylo, const double* yhi, int n, Rgb c, float alpha) {
    cairo_t* cr = CR(cv);
    /* One polygon per run of finite points with increasing x: no seams inside a band. */
    for (int a = 0; a < n;) {
        if (!isfinite(xs[a]) || !isfinite(ylo[a]) || !isfinite(yhi[a])) { a++; continue; }
        int b = a;
        while (b + 1 < n && isfinite(xs[b + 1]) && isfinite(ylo[b + 1]) && isfinite(yhi[b + 1]) && xs[b + 1] > xs[b]) b++;
        if (b > a) {
            cairo_move_to(cr, xs[a], ylo[a]);
            for (int i = a + 1; i <= b; i++) cairo_line_to(cr, xs[i], ylo[i]);
            for (int i = b; i >= a; i--) cairo_line_to(cr, xs[i], yhi[i]);
            cairo_close_path(cr);
        }
        a = b + 1;
    }
    source(cv, c, alpha);
    cairo_fill(cr);
}

/* ---- text ---- */

/* One line of s (up to '\n' or NUL), NUL-terminated in buf; returns where the next starts (NULL: none). */
static const char* next_line(const char* s, char* buf, size_t cap) {
    const char* e = strchr(s, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return e ? e + 1 : NULL;
}

void plot_text_size(Canvas* cv, const char* s, double size, double* w, double* h) {
    cairo_t* cr = CR(cv);
    cairo_set_font_size(cr, size);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double W = 0;
    int lines = 0;
    char line[1024];
    for (const char* p = s; p; lines++) {
        p = next_line(p, line, sizeof line);
        cairo_text_extents_t te;
        cairo_text_extents(cr, line, &te);
        if (te.x_advance > W) W = te.x_advance;
    }
    *w = ceil(W) + 2;
    *h = ceil(fe.ascent + fe.descent) + (lines - 1) * size * 1.2;
}

int plot_text(Canvas* cv, const char* s, double x, double y, double size, Rgb c, int ha, int va, int rot90) {
    if (!s || !*s) return 0;
    double bw, bh;
    plot_text_size(cv, s, size, &bw, &bh);
    /* The turned box: width bh, height bw. */
    double W = rot90 ? bh : bw, H = rot90 ? bw : bh;
    double left = ha == HA_LEFT ? x : ha == HA_CENTER ? x - W / 2 : x - W;
    double top = va == VA_TOP ? y : va == VA_MIDDLE ? y - H / 2 : y - H;
    cairo_t* cr = CR(cv);
    cairo_save(cr);
    /* Unturned block coordinates (tx, ty) land at (left + tx, top + ty), or turned a
     * quarter counter-clockwise at (left + ty, top + bw - tx). */
    cairo_translate(cr, left, rot90 ? top + bw : top);
    if (rot90) cairo_rotate(cr, -M_PI / 2);
    cairo_set_font_size(cr, size);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    source(cv, c, 1);
    char line[1024];
    int i = 0;
    for (const char* p = s; p; i++) {
        p = next_line(p, line, sizeof line);
        cairo_text_extents_t te;
        cairo_text_extents(cr, line, &te);
        double lx = ha == HA_LEFT ? 0 : ha == HA_CENTER ? (bw - te.x_advance) / 2 : bw - 2 - te.x_advance;
        cairo_move_to(cr, lx, i * size * 1.2 + fe.ascent);
        cairo_show_text(cr, line);
    }
    cairo_restore(cr);
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
static double ink(const Canvas* cv, const unsigned char* rgb, int x0, int y0, int x1, int y1) {
    long n = 0, hit = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) continue;
            const unsigned char* p = rgb + ((size_t)y * cv->w + x) * 3;
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
    unsigned char* rgb = canvas_rgb(cv);   /* what is drawn so far */
    for (int k = 0; k < 6; k++) {
        double v = ink(cv, rgb, (int)cx[k] - 6, (int)cy[k] - 6, (int)(cx[k] + W + 6), (int)(cy[k] + H + 6));
        if (v < bi - 1e-3) { bi = v; best = k; }
    }
    free(rgb);
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
