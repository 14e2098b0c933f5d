#include "direct_convolution.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

// Each band of output rows is laid out as a grid `gridWidth` wide, the padded input's width:
// output (y, x) is grid position y·gridWidth + x, and the input under kernel tap (ky, kx) sits
// ky·gridWidth + kx after it in the band's padded copy. A tile is R filters × 32 consecutive
// grid positions, two 16-lane vectors; positions past the output width are computed and
// dropped when the tile is stored.

enum { lanes = 32, maxTaps = 64 };

typedef struct {
    int32_t gridWidth, gridHeight; // of a channel's padded rows
    int64_t channelPlane; // floats of them
} band_layout;

static band_layout layout(const direct_convolution_shape *s, int32_t rows) {
    band_layout b = { s->width + 2 * s->padding, rows + s->size - 1, 0 };
    b.channelPlane = (int64_t)b.gridWidth * b.gridHeight;
    return b;
}

int64_t direct_convolution_workspace(const direct_convolution_shape *s, int32_t rows) {
    // a tile reads up to `lanes` − 1 floats past the last plane
    return layout(s, rows).channelPlane * s->channels + 2 * lanes;
}

// Channel c's input rows firstRow − padding ..< firstRow − padding + gridHeight, padded with
// `padding` zeros on each side; rows outside the image are zeros.
static void prepare(const direct_convolution_shape *s, const float *input, int32_t firstRow, band_layout b, float *planes) {
    for (int32_t c = 0; c < s->channels; c++) {
        const float *plane = input + (int64_t)c * s->height * s->width;
        for (int32_t j = 0; j < b.gridHeight; j++) {
            float *row = planes + c * b.channelPlane + (int64_t)j * b.gridWidth;
            int32_t y = firstRow + j - s->padding;
            if (y < 0 || y >= s->height) {
                memset(row, 0, sizeof(float) * b.gridWidth);
                continue;
            }
            memset(row, 0, sizeof(float) * s->padding);
            memcpy(row + s->padding, plane + (int64_t)y * s->width, sizeof(float) * s->width);
            memset(row + s->padding + s->width, 0, sizeof(float) * s->padding);
        }
    }
}

typedef struct {
    int32_t channels, taps;
    const int64_t *offsets; // of each tap, from a tile's first position in channel 0's rows
    int64_t channelPlane;
    int64_t weightsPerFilter;
    int64_t outputPlane;
    direct_activation activation;
} tile_context;

// R filters × 32 positions starting at `grid`; `mask` says which of the 32 are outputs, stored
// one after another from `target` (the positions a row's end skips are left out).
#define DEFINE_TILE(R)                                                                                             \
    __attribute__((target("avx512f"))) static void tile##R(const tile_context *t, const float *grid,               \
        const float *weights, const float *multiplier, const float *shift, uint32_t mask, float *target) {         \
        __m512 low[R], high[R];                                                                                    \
        _Pragma("unroll") for (int i = 0; i < R; i++) { low[i] = _mm512_setzero_ps(); high[i] = _mm512_setzero_ps(); } \
        for (int32_t c = 0; c < t->channels; c++) {                                                                \
            const float *source = grid + c * t->channelPlane;                                                      \
            const float *w = weights + (int64_t)c * t->taps;                                                       \
            for (int32_t k = 0; k < t->taps; k++) {                                                                \
                __m512 b0 = _mm512_loadu_ps(source + t->offsets[k]), b1 = _mm512_loadu_ps(source + t->offsets[k] + 16); \
                _Pragma("unroll") for (int i = 0; i < R; i++) {                                                    \
                    __m512 a = _mm512_set1_ps(w[i * t->weightsPerFilter + k]);                                     \
                    low[i] = _mm512_fmadd_ps(a, b0, low[i]);                                                       \
                    high[i] = _mm512_fmadd_ps(a, b1, high[i]);                                                     \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        __mmask16 lowMask = (__mmask16)mask, highMask = (__mmask16)(mask >> 16);                                   \
        int lowCount = __builtin_popcount(lowMask);                                                                \
        _Pragma("unroll") for (int i = 0; i < R; i++) {                                                            \
            __m512 m = _mm512_set1_ps(multiplier[i]), s = _mm512_set1_ps(shift[i]);                                \
            __m512 y0 = _mm512_add_ps(_mm512_mul_ps(low[i], m), s), y1 = _mm512_add_ps(_mm512_mul_ps(high[i], m), s); \
            y0 = activate(y0, t->activation);                                                                      \
            y1 = activate(y1, t->activation);                                                                      \
            float *out = target + i * t->outputPlane;                                                              \
            _mm512_mask_compressstoreu_ps(out, lowMask, y0);                                                       \
            _mm512_mask_compressstoreu_ps(out + lowCount, highMask, y1);                                           \
        }                                                                                                          \
    }

// Darknet's leaky (x > 0 ? x : 0.1x) and relu (x·(x > 0)); vmaxps gives its second operand when
// either is NaN, so a NaN stays NaN in both, as in Darknet.
__attribute__((target("avx512f"), always_inline)) static inline __m512 activate(__m512 y, direct_activation activation) {
    switch (activation) {
    case direct_linear: return y;
    case direct_leaky: return _mm512_max_ps(y, _mm512_mul_ps(y, _mm512_set1_ps(0.1f)));
    case direct_relu: return _mm512_max_ps(_mm512_setzero_ps(), y);
    }
    return y;
}

DEFINE_TILE(12)
DEFINE_TILE(8)
DEFINE_TILE(4)
DEFINE_TILE(1)

__attribute__((target("avx512f")))
void direct_convolution(const direct_convolution_shape *s, const float *input, const float *weights,
                        int32_t firstRow, int32_t rows, int32_t bandRows,
                        const float *multiplier, const float *shift, direct_activation activation,
                        float *output, float *workspace) {
    int32_t taps = s->size * s->size;
    if (taps > maxTaps || rows <= 0 || bandRows <= 0) return;
    int64_t outputPlane = (int64_t)s->outHeight * s->outWidth;
    for (int32_t first = firstRow; first < firstRow + rows; first += bandRows) {
        int32_t count = firstRow + rows - first < bandRows ? firstRow + rows - first : bandRows;
        band_layout b = layout(s, count);
        prepare(s, input, first, b, workspace);
        int64_t offsets[maxTaps];
        for (int32_t ky = 0; ky < s->size; ky++)
            for (int32_t kx = 0; kx < s->size; kx++)
                offsets[ky * s->size + kx] = (int64_t)ky * b.gridWidth + kx;
        tile_context t = { s->channels, taps, offsets, b.channelPlane, (int64_t)s->channels * taps, outputPlane, activation };
        int64_t end = (int64_t)(count - 1) * b.gridWidth + s->outWidth; // one past the last output's position
        // Tiles in chunks whose masks and targets are worked out once for all the filters.
        enum { chunk = 256 };
        uint32_t masks[chunk];
        int64_t starts[chunk], targets[chunk];
        for (int64_t chunkStart = 0; chunkStart < end; chunkStart += (int64_t)chunk * lanes) {
            int32_t tiles = 0;
            for (int64_t n = chunkStart; n < end && n < chunkStart + (int64_t)chunk * lanes; n += lanes) {
                uint32_t mask = 0;
                int64_t target = -1;
                for (int32_t lane = 0; lane < lanes && n + lane < end; lane++) {
                    int64_t y = (n + lane) / b.gridWidth, x = (n + lane) % b.gridWidth;
                    if (x >= s->outWidth) continue;
                    mask |= 1u << lane;
                    if (target < 0) target = (first + y) * s->outWidth + x;
                }
                if (!mask) continue;
                masks[tiles] = mask, starts[tiles] = n, targets[tiles] = target;
                tiles++;
            }
            for (int32_t f = 0; f < s->filters;) {
                int32_t left = s->filters - f, r = left >= 12 ? 12 : left >= 8 ? 8 : left >= 4 ? 4 : 1;
                const float *w = weights + (int64_t)f * t.weightsPerFilter;
                for (int32_t i = 0; i < tiles; i++) {
                    const float *grid = workspace + starts[i];
                    float *out = output + f * outputPlane + targets[i];
                    switch (r) {
                    case 12: tile12(&t, grid, w, multiplier + f, shift + f, masks[i], out); break;
                    case 8: tile8(&t, grid, w, multiplier + f, shift + f, masks[i], out); break;
                    case 4: tile4(&t, grid, w, multiplier + f, shift + f, masks[i], out); break;
                    default: tile1(&t, grid, w, multiplier + f, shift + f, masks[i], out); break;
                    }
                }
                f += r;
            }
        }
    }
}

#else // The kernel is x86-64 only; elsewhere `DirectConvolution.available` is false and it is never called.

int64_t direct_convolution_workspace(const direct_convolution_shape *s, int32_t rows) {
    (void)s, (void)rows;
    return 0;
}

void direct_convolution(const direct_convolution_shape *s, const float *input, const float *weights,
                        int32_t firstRow, int32_t rows, int32_t bandRows,
                        const float *multiplier, const float *shift, direct_activation activation,
                        float *output, float *workspace) {
    (void)s, (void)input, (void)weights, (void)firstRow, (void)rows, (void)bandRows;
    (void)multiplier, (void)shift, (void)activation, (void)output, (void)workspace;
}

#endif
