/* legacy_paths: the unchecked path_join / path_dirname (four and three arguments) for the
 * files not yet moved to the checked forms of util.h (issue 23: "paths: no silent
 * truncation"). GNUmakefile forces this header into those files only (LEGACY_PATHS);
 * convert a file's calls, drop it from that list, and when the list is empty delete this
 * header with path_join_unchecked / path_dirname_unchecked. */
#ifndef DD_LEGACY_PATHS_H
#define DD_LEGACY_PATHS_H
#include "util.h"

#define path_join    path_join_unchecked
#define path_dirname path_dirname_unchecked

#endif
