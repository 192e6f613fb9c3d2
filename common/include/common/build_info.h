/* build_info.h - what this binary is: the project version (CMake's project(VERSION)) and the git
 * commit it was built from, both fixed at build time by cmake/version.cmake. Printed by
 * `--version`, returned by GET / (version). */
#ifndef COMMON_BUILD_INFO_H
#define COMMON_BUILD_INFO_H

/* "0.1.0" */
extern const char build_version[];
/* "1a2b3c4d5e6f", "1a2b3c4d5e6f-dirty" (tracked files differed from the commit) or "unknown"
 * (not built from a git checkout and BOOKSTORE_GIT_COMMIT not given). */
extern const char build_commit[];

#endif
