# Writes OUT: a C file defining `const char SYM[]` holding the bytes of IN plus a NUL.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* generated from ${IN} */\nconst char ${SYM}[] = {${bytes}0x00};\n")
