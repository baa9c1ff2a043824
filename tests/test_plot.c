/* plot: nice ticks and ranges, drawing where expected (lines, thick and dashed,
 * rectangles, circles, bands, horizontal and turned text), a PNG round trip
 * read back with libpng (size, colour type, pixels), and the PDF of the same
 * drawing (a vector page, no clock: the same bytes twice). */
#include "check.h"
#include "plot.h"
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The drawing as pixels, taken after each step (canvas_rgb: what the PNG holds). */
static unsigned char* snap;
static void take(const Canvas* cv) { free(snap); snap = canvas_rgb(cv); }
static const unsigned char* px(const Canvas* cv, int x, int y) { return snap + ((size_t)y * cv->w + x) * 3; }
static int is_white(const unsigned char* p) { return p[0] == 255 && p[1] == 255 && p[2] == 255; }

/* Non-white pixels in a rectangle. */
static long inked(const Canvas* cv, int x0, int y0, int x1, int y1) {
    long n = 0;
    for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) n += !is_white(px(cv, x, y));
    return n;
}

/* Reads an 8-bit RGB PNG into rgb (w*h*3, malloc'd); 0 on success. */
static int read_png(const char* path, int* w, int* h, int* ctype, int* depth, unsigned char** rgb) {
    FILE* f = fopen(path, "rb");
    if (!f) return -1;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) { png_destroy_read_struct(&png, &info, NULL); fclose(f); return -1; }
    png_init_io(png, f);
    png_read_info(png, info);
    *w = (int)png_get_image_width(png, info);
    *h = (int)png_get_image_height(png, info);
    *ctype = png_get_color_type(png, info);
    *depth = png_get_bit_depth(png, info);
    *rgb = malloc((size_t)*w * *h * 3);
    for (int y = 0; y < *h; y++) png_read_row(png, *rgb + (size_t)y * *w * 3, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return 0;
}

int main(void) {
    char err[ERR_LEN];
    double first, step;

    /* Ticks: steps of 1, 2, 5 x 10^k, first tick the first multiple >= lo. */
    int n = nice_ticks(0, 1, 5, &first, &step);
    CHECK("ticks_unit_range", n == 6 && first == 0 && fabs(step - 0.2) < 1e-12, "n %d first %g step %g", n, first, step);
    n = nice_ticks(3.14, 6.9, 6, &first, &step);
    CHECK("ticks_offset_range", fabs(step - 0.5) < 1e-12 && fabs(first - 3.5) < 1e-12 && n == 7, "n %d first %g step %g", n, first, step);
    n = nice_ticks(0, 20000, 7, &first, &step);
    CHECK("ticks_large", step == 2000 && n == 11, "n %d step %g", n, step);
    double lo = 2.93, hi = 6.95;
    nice_range(&lo, &hi, 6);
    CHECK("nice_range_widens", lo == 2.5 && hi == 7, "lo %g hi %g", lo, hi);
    lo = hi = 3;
    nice_range(&lo, &hi, 6);
    CHECK("nice_range_flat", lo < 3 && hi > 3, "lo %g hi %g", lo, hi);
    char buf[32], buf2[32], buf3[32];
    tick_label(buf, sizeof buf, 0.30000000000000004, 0.05);
    tick_label(buf2, sizeof buf2, 250, 50);
    tick_label(buf3, sizeof buf3, -1e-17, 0.1);
    CHECK("tick_labels", !strcmp(buf, "0.30") && !strcmp(buf2, "250") && !strcmp(buf3, "0.0"), "'%s' '%s' '%s'", buf, buf2, buf3);

    Canvas cv;
    int rc = canvas_init(&cv, 320, 200, C_WHITE, NULL, err);
    CHECK("canvas_init", rc == 0, "%s", err);
    if (rc) return check_status();
    Canvas bad;
    CHECK("canvas_bad_font", canvas_init(&bad, 10, 10, C_WHITE, "/nonexistent/font.ttf", err) == -1 && strstr(err, "font.ttf"),
          "err '%s'", err);

    plot_line(&cv, 10, 20, 110, 20, 1, C_BLACK);
    take(&cv);
    /* A 1-px line on a pixel boundary covers the two rows beside it by half each. */
    int ink2 = (255 - px(&cv, 60, 19)[0]) + (255 - px(&cv, 60, 20)[0]);
    CHECK("line_drawn", ink2 > 230 && ink2 < 280, "coverage %d of 255 across the line", ink2);
    CHECK("line_not_elsewhere", is_white(px(&cv, 60, 30)) && is_white(px(&cv, 5, 20)), "ink off the line");
    plot_line(&cv, 10, 50, 110, 50, 8, C_RED);
    take(&cv);
    CHECK("thick_line_width", inked(&cv, 50, 40, 51, 60) >= 8 && inked(&cv, 50, 40, 51, 60) <= 10, "%ld px across",
          inked(&cv, 50, 40, 51, 60));
    plot_line(&cv, 10, 70, 110, 95, 2, C_BLUE);
    take(&cv);
    const unsigned char* d = px(&cv, 60, 82);
    CHECK("diagonal_antialiased", inked(&cv, 10, 65, 112, 100) > 200 && d[2] > d[0], "diagonal");
    plot_dashed(&cv, 10, 120, 110, 120, 2, 10, 10, C_BLACK);
    take(&cv);
    CHECK("dashed_has_gaps", !is_white(px(&cv, 15, 120)) && is_white(px(&cv, 25, 120)) && !is_white(px(&cv, 35, 120)), "dash pattern");
    plot_fill_rect(&cv, 200, 20, 240, 60, C_GREEN, 1);
    take(&cv);
    const unsigned char* g = px(&cv, 220, 40);
    CHECK("rect_filled", g[0] == C_GREEN.r && g[1] == C_GREEN.g && g[2] == C_GREEN.b && is_white(px(&cv, 245, 40)), "rect");
    plot_circle(&cv, 270, 40, 10, C_ORANGE);
    take(&cv);
    CHECK("circle_filled", !is_white(px(&cv, 270, 40)) && is_white(px(&cv, 270, 55)) && is_white(px(&cv, 258, 28)), "circle");
    double xs[] = {200, 300}, ylo[] = {150, 150}, yhi[] = {170, 190};
    plot_fill_between(&cv, xs, ylo, yhi, 2, C_SKY, 0.5f);
    take(&cv);
    CHECK("band_filled", !is_white(px(&cv, 250, 165)) && is_white(px(&cv, 250, 145)) && is_white(px(&cv, 205, 185)), "band");

    double tw, th;
    plot_text_size(&cv, "Hello", 20, &tw, &th);
    CHECK("text_size", tw > 30 && tw < 80 && th >= 18 && th < 40, "w %g h %g", tw, th);
    plot_text_size(&cv, "Hello\nworld", 20, &tw, &th);
    CHECK("text_size_two_lines", th > 40, "h %g", th);
    plot_text(&cv, "Hello", 10, 140, 20, C_BLACK, HA_LEFT, VA_TOP, 0);
    take(&cv);
    long t = inked(&cv, 8, 138, 90, 170);
    CHECK("text_drawn", t > 60, "%ld inked", t);
    int grey = 0;
    for (int y = 138; y < 170; y++) for (int x = 8; x < 90; x++) grey |= px(&cv, x, y)[0] > 40 && px(&cv, x, y)[0] < 215;
    CHECK("text_antialiased", grey, "no intermediate grey levels");
    /* Turned text: taller than wide. */
    plot_text(&cv, "Vertical", 160, 100, 16, C_BLACK, HA_CENTER, VA_MIDDLE, 1);
    take(&cv);
    long in_col = inked(&cv, 150, 60, 171, 141), side = inked(&cv, 120, 92, 150, 108) + inked(&cv, 171, 92, 199, 108);
    CHECK("text_rot90", in_col > 50 && side == 0, "column %ld, beside %ld", in_col, side);

    char path[64];
    snprintf(path, sizeof path, "/tmp/test_plot_%d.png", (int)getpid());
    rc = canvas_save_png(&cv, path, err);
    CHECK("png_write", rc == 0, "%s", err);
    int w = 0, h = 0, ct = -1, dp = 0;
    unsigned char* back = NULL;
    rc = read_png(path, &w, &h, &ct, &dp, &back);
    CHECK("png_read_back", rc == 0 && w == 320 && h == 200 && ct == PNG_COLOR_TYPE_RGB && dp == 8, "rc %d %dx%d type %d depth %d", rc,
          w, h, ct, dp);
    CHECK("png_pixels_equal", back && !memcmp(back, snap, (size_t)w * h * 3), "pixels differ after the round trip");
    free(back);
    unlink(path);
    CHECK("png_unwritable", canvas_save_png(&cv, "/nonexistent/dir/x.png", err) == -1 && strstr(err, "/nonexistent/dir"), "err '%s'", err);

    /* The PDF: one page of the canvas at PLOT_PDF_SCALE pt/px, the text in it as text, and
     * the same bytes when written twice (no creation date). */
    char pdf[64], pdf2[64];
    snprintf(pdf, sizeof pdf, "/tmp/test_plot_%d.pdf", (int)getpid());
    snprintf(pdf2, sizeof pdf2, "/tmp/test_plot_%d_2.pdf", (int)getpid());
    rc = canvas_save_pdf(&cv, pdf, err);
    CHECK("pdf_write", rc == 0, "%s", err);
    CHECK("pdf_write_again", canvas_save_pdf(&cv, pdf2, err) == 0, "%s", err);
    size_t n1 = 0, n2 = 0;
    char* b1 = read_file(pdf, &n1, err);
    char* b2 = read_file(pdf2, &n2, err);
    CHECK("pdf_is_pdf", b1 && n1 > 500 && !memcmp(b1, "%PDF-1.", 7) && memmem(b1, n1, "%%EOF", 5), "%zu bytes", n1);
    CHECK("pdf_page_size", b1 && memmem(b1, n1, "/MediaBox [ 0 0 160 100 ]", 25), "no 160 x 100 pt page");
    CHECK("pdf_font_embedded", b1 && memmem(b1, n1, "DejaVuSans", 10), "no DejaVuSans font");
    CHECK("pdf_no_clock", b1 && !memmem(b1, n1, "CreationDate", 12) && !memmem(b1, n1, "ModDate", 7), "a date in the PDF");
    CHECK("pdf_deterministic", b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1), "two writes differ (%zu vs %zu bytes)", n1, n2);
    free(b1); free(b2);
    unlink(pdf); unlink(pdf2);
    CHECK("pdf_unwritable", canvas_save_pdf(&cv, "/nonexistent/dir/x.pdf", err) == -1 && strstr(err, "/nonexistent/dir"), "err '%s'", err);

    /* A second canvas after the first is freed measures text the same (cairo keeps font
     * faces cached past their canvas; the FreeType face must live as long). */
    double w1, h1, w2, h2;
    plot_text_size(&cv, "0.8 (2 seeds)", 17, &w1, &h1);
    for (int k = 0; k < 3; k++) {
        Canvas c2;
        CHECK("canvas_again", canvas_init(&c2, 50, 50, C_WHITE, NULL, err) == 0, "%s", err);
        plot_text(&c2, "x", 1, 1, 12, C_BLACK, HA_LEFT, VA_TOP, 1);
        plot_text_size(&c2, "0.8 (2 seeds)", 17, &w2, &h2);
        canvas_free(&c2);
    }
    CHECK("text_size_same_on_new_canvas", w1 == w2 && h1 == h2, "%g x %g vs %g x %g", w1, h1, w2, h2);

    /* Axes map data onto the pixel rectangle, y upward. */
    Axes ax;
    axes_init(&ax, &cv, 50, 10, 300, 160, 0, 10, 0, 1);
    CHECK("axes_map", ax_x(&ax, 0) == 50 && ax_x(&ax, 10) == 300 && ax_y(&ax, 0) == 160 && ax_y(&ax, 1) == 10, "mapping");
    canvas_free(&cv);
    free(snap);
    return check_status();
}
