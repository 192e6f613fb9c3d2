# Writes OUT: a C file defining, for the bytes of IN,
#   const char SYM[]          the bytes followed by a NUL (text files can be used as C strings)
#   const size_t SYM_len      the number of bytes (without the NUL), so binary files are safe too
#   const char SYM_sha256[]   their SHA-256 in lower-case hex (ETags, cache-busting URLs)
file(READ ${IN} hex HEX)
file(SIZE ${IN} len)
file(SHA256 ${IN} sum)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* generated from ${IN} */\n#include <stddef.h>\n"
     "extern const char ${SYM}[];\nextern const size_t ${SYM}_len;\n"
     "extern const char ${SYM}_sha256[];\n"
     "const char ${SYM}[] = {${bytes}0x00};\n"
     "const size_t ${SYM}_len = ${len};\n"
     "const char ${SYM}_sha256[] = \"${sum}\";\n")
