/* json: small helpers over jansson for the files every tool reads and writes.
 * Owns: loading with file:line:column errors, atomic pretty writes, JSONL appends,
 * forgiving JSONL reads (a torn last line is skipped), typed getters with defaults.
 * Does not own: schemas; each module knows its own keys. */
#ifndef DD_JSON_H
#define DD_JSON_H
#include <jansson.h>
#include "util.h"

json_t* json_load_path(const char* path, char err[ERR_LEN]);
/* Whole files at 17 significant digits (every double reads back exactly: resume state); */
/* appended lines (metrics, logs) at 10. */
int     json_write_atomic(const char* path, const json_t* j, char err[ERR_LEN]);
int     json_append_line(const char* path, const json_t* j, char err[ERR_LEN]);
/* Calls fn for every complete JSON object line; returns lines read or -1. */
long    jsonl_foreach(const char* path, void (*fn)(json_t* obj, void* ctx), void* ctx, char err[ERR_LEN]);

/* Strict JSONL (inputs a user wrote or a tool must trust): every line one JSON
 * value, no duplicate keys; an empty line or invalid JSON is "path:line: ...".
 * fn gets each value (borrowed) with its line number; fn returning -1 with `why`
 * stops with "path:line: why". Returns the lines read, or -1. */
long    jsonl_strict_each(const char* path, int (*fn)(json_t* o, long line, void* ctx, char why[ERR_LEN]), void* ctx,
                          char err[ERR_LEN]);

/* Keep the leading lines whose "step" is <= step (a resume redoes the rest). */
int     jsonl_truncate_steps(const char* path, long step, char err[ERR_LEN]);

long        jget_int(const json_t* o, const char* key, long def);
double      jget_num(const json_t* o, const char* key, double def);
const char* jget_str(const json_t* o, const char* key, const char* def);

#endif
