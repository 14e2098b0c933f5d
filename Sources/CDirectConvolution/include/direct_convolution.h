#ifndef DIRECT_CONVOLUTION_H
#define DIRECT_CONVOLUTION_H
#include <stdint.h>

/// A convolution the direct kernel computes: one group, stride 1, no dilation, any kernel size
/// up to 8×8.
typedef struct {
    int32_t channels, height, width;
    int32_t filters, outHeight, outWidth;
    int32_t size, padding;
} direct_convolution_shape;

/// What follows the multiply-add: y = multiplier·x + shift, then the activation.
typedef enum { direct_linear = 0, direct_leaky = 1, direct_relu = 2 } direct_activation;

/// Floats of workspace that a band of `rows` output rows takes.
int64_t direct_convolution_workspace(const direct_convolution_shape *shape, int32_t rows);

/// Every filter at output rows [firstRow, firstRow + rows), `bandRows` rows at a time: each
/// band's input, zero-padded, goes into `workspace` (`direct_convolution_workspace(shape,
/// bandRows)` floats), and each output is activation(multiplier[f]·Σ weights·input + shift[f]). Weights are Darknet's
/// (filters × channels × size × size); input and output planar, one image. It runs AVX-512F
/// instructions: the caller checks that the processor has them and the OS saves their registers.
void direct_convolution(const direct_convolution_shape *shape, const float *input, const float *weights,
                        int32_t firstRow, int32_t rows, int32_t bandRows,
                        const float *multiplier, const float *shift, direct_activation activation,
                        float *output, float *workspace);

#endif
