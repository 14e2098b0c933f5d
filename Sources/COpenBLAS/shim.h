// OpenBLAS's cblas.h also declares openblas_get_corename() and openblas_set_num_threads().
#include <cblas.h>

// Exported by libopenblas but not declared in its headers: the OPENBLAS_* environment as read
// at start-up (openblas_read_env reads it again; openblas_thread_timeout is the value of
// OPENBLAS_THREAD_TIMEOUT, 0 when unset), and the stop of the worker threads, which the next
// threaded call starts again with the values read.
void openblas_read_env(void);
int openblas_thread_timeout(void);
int blas_thread_shutdown_(void);
