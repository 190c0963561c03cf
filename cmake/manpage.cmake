# manpage.cmake - copy man page IN to OUT with VERSION in its .TH line.
#   cmake -DIN=man/grpx.1 -DOUT=build/man/grpx.1 -DVERSION=0.1.0 -P manpage.cmake
# The page in git says only "grpx" where the version goes (.TH's fourth
# argument), so `man -l man/grpx.1` reads well and the version lives in
# CMakeLists.txt alone.
file(READ "${IN}" text)
string(REGEX REPLACE "(^|\n)(\\.TH [^\n]* )\"grpx\"" "\\1\\2\"grpx ${VERSION}\"" out "${text}")
if(out STREQUAL text)
  message(FATAL_ERROR "${IN}: no .TH line with \"grpx\" as its fourth argument")
endif()
file(WRITE "${OUT}" "${out}")
