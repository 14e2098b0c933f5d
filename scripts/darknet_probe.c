/* A thin C shim over Debian's libdarknet so that Python's ctypes never has to mirror
 * Darknet's 300-field `layer` struct: each function returns plain ints and float pointers. */
#include "darknet.h"

network *probe_load(char *cfg, char *weights)
{
    network *net = load_network(cfg, weights, 0);
    set_batch_network(net, 1);
    return net;
}

int probe_layer_count(network *net) { return net->n; }

/* out_c, out_h, out_w, outputs, type, batch_normalize, n, nweights */
void probe_layer_info(network *net, int i, int *info)
{
    layer l = net->layers[i];
    info[0] = l.out_c; info[1] = l.out_h; info[2] = l.out_w; info[3] = l.outputs;
    info[4] = l.type; info[5] = l.batch_normalize; info[6] = l.n; info[7] = l.nweights;
}

float *probe_layer_output(network *net, int i) { return net->layers[i].output; }

float *probe_predict(network *net, float *input) { return network_predict(net, input); }

void probe_save(network *net, char *path, int cutoff) { save_weights_upto(net, path, cutoff); }

void probe_set_seen(network *net, size_t seen) { *net->seen = seen; }

/* Darknet's detection path as ./darknet detector test runs it: load_image_color, letterbox,
 * network_predict, get_network_boxes (relative), do_nms_sort. Writes up to `max` rows of
 * (class, prob, x, y, w, h) for every box and class above `thresh`; returns the row count. */
int probe_detect(network *net, char *path, float thresh, float nms, float *out, int max, int *size)
{
    image im = load_image_color(path, 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
    network_predict(net, sized.data);
    int boxes = 0;
    detection *dets = get_network_boxes(net, im.w, im.h, thresh, .5, 0, 1, &boxes);
    /* get_region_detections leaves detection.classes unset: take the count from the last layer. */
    int classes = net->layers[net->n - 1].classes;
    if (nms) do_nms_sort(dets, boxes, classes, nms);
    int rows = 0;
    for (int i = 0; i < boxes; ++i) {
        for (int j = 0; j < classes; ++j) {
            if (dets[i].prob[j] > thresh) {
                if (rows < max) {
                    float *row = out + 6 * rows;
                    row[0] = j; row[1] = dets[i].prob[j];
                    row[2] = dets[i].bbox.x; row[3] = dets[i].bbox.y; row[4] = dets[i].bbox.w; row[5] = dets[i].bbox.h;
                }
                ++rows;
            }
        }
    }
    size[0] = im.w; size[1] = im.h;
    free_detections(dets, boxes);
    free_image(sized);
    free_image(im);
    return rows;
}

/* The image as Darknet loads it: planar RGB floats in [0, 1]. */
float *probe_image(char *path, int *size)
{
    image im = load_image_color(path, 0, 0);
    size[0] = im.w; size[1] = im.h;
    return im.data;
}

/* One training step as Darknet runs it: load (the cfg's batch is the step's, one subdivision),
 * copy in the batch and its truth, train_network_datum, save. Returns the loss. */
float probe_train(char *cfg, char *weights, float *input, float *truth, char *out)
{
    network *net = load_network(cfg, weights, 0);
    memcpy(net->input, input, sizeof(float) * net->inputs * net->batch);
    memcpy(net->truth, truth, sizeof(float) * net->truths * net->batch);
    float loss = train_network_datum(net);
    save_weights(net, out);
    free_network(net);
    return loss;
}

/* Floats save_weights writes for layer i (the kinds the training checks use). */
int probe_layer_floats(network *net, int i)
{
    layer l = net->layers[i];
    int norm = l.batch_normalize ? 3 : 0;
    if (l.type == CONVOLUTIONAL) return l.n + l.nweights + norm * l.n;
    if (l.type == CONNECTED) return l.outputs + l.inputs * l.outputs + norm * l.outputs;
    if (l.type == BATCHNORM) return 3 * l.c;
    return 0;
}

int probe_truths(network *net) { return net->truths; }

/* After a train_network_datum whose cfg has momentum=1, each layer's *_updates hold the CPU's
 * gradients (the weights' with decay already added): writes them in save_weights' order, the
 * rolling statistics in their place. Returns the floats written. */
int probe_gradients(network *net, float *out)
{
    int written = 0;
    for (int i = 0; i < net->n; ++i) {
        layer l = net->layers[i];
        int n = l.type == CONVOLUTIONAL ? l.n : l.outputs;
        float *arrays[5] = {0};
        int counts[5] = {0};
        if (l.type == CONVOLUTIONAL) {
            float *a[5] = {l.bias_updates, l.scale_updates, l.rolling_mean, l.rolling_variance, l.weight_updates};
            int c[5] = {n, n, n, n, l.nweights};
            if (!l.batch_normalize) { a[1] = l.weight_updates; c[1] = l.nweights; c[2] = c[3] = c[4] = 0; }
            memcpy(arrays, a, sizeof a); memcpy(counts, c, sizeof c);
        } else if (l.type == CONNECTED) {
            float *a[5] = {l.bias_updates, l.weight_updates, l.scale_updates, l.rolling_mean, l.rolling_variance};
            int c[5] = {n, l.inputs * l.outputs, n, n, n};
            if (!l.batch_normalize) c[2] = c[3] = c[4] = 0;
            memcpy(arrays, a, sizeof a); memcpy(counts, c, sizeof c);
        }
        for (int k = 0; k < 5; ++k) {
            if (counts[k]) memcpy(out + written, arrays[k], sizeof(float) * counts[k]);
            written += counts[k];
        }
    }
    return written;
}

/* probe_train, keeping the network for probe_gradients (free it with probe_free). */
network *probe_train_keep(char *cfg, char *weights, float *input, float *truth)
{
    network *net = load_network(cfg, weights, 0);
    memcpy(net->input, input, sizeof(float) * net->inputs * net->batch);
    memcpy(net->truth, truth, sizeof(float) * net->truths * net->batch);
    train_network_datum(net);
    return net;
}

void probe_free(network *net) { free_network(net); }
