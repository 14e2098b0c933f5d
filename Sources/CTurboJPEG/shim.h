// libjpeg-turbo's TurboJPEG API: libjpeg's decoder with error codes instead of setjmp/longjmp,
// which Swift cannot call safely.
#include <stddef.h>
#include <turbojpeg.h>
