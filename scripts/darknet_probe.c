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
