// libpng's simplified API (png_image_*): errors come back as return values and messages.
#include <png.h>
