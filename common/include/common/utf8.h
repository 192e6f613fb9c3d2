/* utf8.h - the one UTF-8 decoder (request text, log lines, validation all use it). */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s, reading at most len bytes (len >= 1). Returns its length (1..4) and,
 * when cp is not NULL, the code point in *cp; 0 when s does not start a valid sequence (a stray
 * continuation byte, a truncated, overlong or surrogate sequence, or above U+10FFFF). A NUL byte
 * is the valid one-byte sequence U+0000. On NUL-terminated text it never reads past the NUL (a
 * NUL is not a continuation byte), so callers may pass len 4 there. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

#endif
