// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). On macOS the CNN module uses Accelerate instead.
#include <cblas.h>
