/* plot: a small plotting library for the phase-F figures, on cairo.
 *
 * Owns: a canvas that records one drawing and writes it twice: an 8-bit RGB PNG
 * (the drawing rasterised with anti-aliasing, written with libpng) and a vector
 * PDF (the same drawing; text embedded as a font subset), both atomically;
 * drawing (lines of any width, dashed lines, filled rectangles, triangles,
 * circles, shaded bands); text in one FreeType font (DejaVu Sans by default),
 * horizontal or rotated 90° (reading upward, for y-axis titles); a chart helper
 * (Axes: nice ticks, grid, axis titles, line series, bands, grouped bars with
 * error bars, legends that avoid the data).
 * Coordinates are pixels, (0,0) at the top-left, y growing downward; Axes
 * map data coordinates onto a pixel rectangle. The PDF page is the canvas at
 * PLOT_PDF_SCALE points per pixel, so the PNG is the figure at 72/PLOT_PDF_SCALE dpi.
 * Does not own: what the figures show (lib/paper/figures.c), reading run outputs (lib/paper/runs.c).
 * Errors are returned (-1 and err), never exits. */
#ifndef DD_PLOT_H
#define DD_PLOT_H
#include "util.h"

typedef struct { unsigned char r, g, b; } Rgb;

#define RGB(r_, g_, b_) ((Rgb){(unsigned char)(r_), (unsigned char)(g_), (unsigned char)(b_)})
/* A colour-blind-safe palette (Okabe–Ito) and neutrals. */
#define C_BLUE   RGB(0, 114, 178)
#define C_ORANGE RGB(230, 159, 0)
#define C_GREEN  RGB(0, 158, 115)
#define C_RED    RGB(213, 94, 0)
#define C_PURPLE RGB(204, 121, 167)
#define C_SKY    RGB(86, 180, 233)
#define C_YELLOW RGB(240, 228, 66)
#define C_BLACK  RGB(0, 0, 0)
#define C_GREY   RGB(120, 120, 120)
#define C_LIGHT  RGB(225, 225, 225)
#define C_WHITE  RGB(255, 255, 255)

#define PLOT_PDF_SCALE 0.5   /* PDF points per canvas pixel: a 1200 px figure is 600 pt (8.3 in) wide */

typedef struct {
    int    w, h;
    void*  rec;          /* cairo_surface_t*: the recording every primitive draws into */
    void*  cr;           /* cairo_t* on rec */
    void*  font;         /* cairo_font_face_t* on the font's FreeType face */
} Canvas;

/* font == NULL or "": DejaVu Sans from the usual system places. */
int  canvas_init(Canvas* cv, int w, int h, Rgb bg, const char* font, char err[ERR_LEN]);
void canvas_free(Canvas* cv);
/* The drawing so far as (h, w, 3) row-major RGB bytes, malloc'd: what the PNG holds. */
unsigned char* canvas_rgb(const Canvas* cv);
int  canvas_save_png(const Canvas* cv, const char* path, char err[ERR_LEN]);
/* The same drawing as a one-page vector PDF with no clock in it (same drawing, same bytes). */
int  canvas_save_pdf(const Canvas* cv, const char* path, char err[ERR_LEN]);

/* Primitives. alpha in [0,1] is the opacity. */
void plot_fill_rect(Canvas* cv, double x0, double y0, double x1, double y1, Rgb c, float alpha);
void plot_rect(Canvas* cv, double x0, double y0, double x1, double y1, double width, Rgb c);
void plot_line(Canvas* cv, double x0, double y0, double x1, double y1, double width, Rgb c);
void plot_dashed(Canvas* cv, double x0, double y0, double x1, double y1, double width, double dash, double gap, Rgb c);
void plot_circle(Canvas* cv, double cx, double cy, double r, Rgb c);
void plot_triangle(Canvas* cv, double x0, double y0, double x1, double y1, double x2, double y2, Rgb c);
/* A line with a filled arrow head at (x1, y1). */
void plot_arrow(Canvas* cv, double x0, double y0, double x1, double y1, double width, double head, Rgb c);
/* Shade between ylo[i] and yhi[i] (pixels) along xs[i] (increasing), linear in between. */
void plot_fill_between(Canvas* cv, const double* xs, const double* ylo, const double* yhi, int n, Rgb c, float alpha);

/* Text. Lines split on '\n'. ha: 0 left, 1 centre, 2 right of x; va: 0 top, 1 middle,
 * 2 bottom of y. rot90: the block is turned a quarter counter-clockwise (reads upward)
 * and the alignment applies to the turned box. UTF-8. */
enum { HA_LEFT, HA_CENTER, HA_RIGHT };
enum { VA_TOP, VA_MIDDLE, VA_BOTTOM };
int  plot_text(Canvas* cv, const char* s, double x, double y, double size, Rgb c, int ha, int va, int rot90);
/* Width and height in pixels of the (unturned) text block. */
void plot_text_size(Canvas* cv, const char* s, double size, double* w, double* h);

/* Nice ticks: a step of 1, 2 or 5 × 10^k giving about `target` intervals over
 * [lo, hi]; first = the first multiple of step >= lo. Returns the tick count. */
int  nice_ticks(double lo, double hi, int target, double* first, double* step);
/* [lo, hi] widened outward to multiples of the nice step (a flat range is opened up). */
void nice_range(double* lo, double* hi, int target);
/* "%.*f" with as many decimals as step needs. */
void tick_label(char* out, size_t cap, double v, double step);

/* A chart: a pixel rectangle [px0,px1]×[py0,py1] showing [xmin,xmax]×[ymin,ymax]. */
typedef struct {
    Canvas* cv;
    double  px0, py0, px1, py1;
    double  xmin, xmax, ymin, ymax;
    double  font;          /* tick label size; titles are larger */
} Axes;

void   axes_init(Axes* ax, Canvas* cv, double px0, double py0, double px1, double py1, double xmin, double xmax,
                 double ymin, double ymax);
double ax_x(const Axes* ax, double x);
double ax_y(const Axes* ax, double y);
/* Grid, frame, ticks and labels (xticks 0: no numeric x ticks, e.g. bar charts),
 * axis titles and the chart title (each may be NULL). Draw before the data. */
void axes_frame(Axes* ax, const char* title, const char* xlabel, const char* ylabel, int xticks);
/* A polyline in data coordinates; NAN values break the line. marker > 0: dots of that radius. */
void axes_series(Axes* ax, const double* x, const double* y, int n, Rgb c, double width, int dashed, double marker);
void axes_band(Axes* ax, const double* x, const double* lo, const double* hi, int n, Rgb c, float alpha);
/* Horizontal dashed reference line across the chart, with an optional label at its right end. */
void axes_hline(Axes* ax, double y, Rgb c, const char* label);

/* Grouped bars: categories at x = 0.5, 1.5, ... (set xmin 0, xmax ngroups); val, lo, hi are
 * (ngroups, nseries); lo/hi may be NULL, NAN entries draw no error bar. value_fmt (e.g. "%.3f")
 * labels each bar above its top (NULL: none). Group labels go under the axis. */
void axes_bars(Axes* ax, int ngroups, int nseries, const double* val, const double* lo, const double* hi,
               const Rgb* colors, const char* const* group_labels, const char* value_fmt);

enum { LEG_LINE, LEG_DASHED, LEG_BOX, LEG_MARKER };
typedef struct { const char* label; Rgb c; int kind; } LegendItem;
/* A boxed legend in the inside corner with the least data under it. */
void axes_legend(Axes* ax, const LegendItem* items, int n);

#endif
