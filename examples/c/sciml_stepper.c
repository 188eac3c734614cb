/*
 * sciml_stepper.c -- a learned stepper written from docs/stepper_artifact.md alone (C99, libhdf5, libm).
 *
 * Reads a `sciml-stepper` artifact (format_version 2), a state from an HDF5 file, advances it
 * NSTEPS steps of the stored Runge-Kutta method and writes the result. Everything is computed in
 * double precision; the weights are stored as float32 and converted on read.
 *
 *   usage: sciml_stepper ARTIFACT.h5 INPUT.h5 OUTPUT.h5 NSTEPS
 *
 *   INPUT.h5   dataset "state": float64, shape (B, n_1[, n_2[, n_3]], C), channels last
 *   OUTPUT.h5  dataset "state":    the state after NSTEPS steps, same shape
 *              dataset "tendency": dz/dt of the input state, same shape
 *
 * Build (Debian/Ubuntu, package libhdf5-dev):
 *   cc -std=c99 -O2 -o sciml_stepper sciml_stepper.c \
 *      $(pkg-config --cflags --libs hdf5) -lm
 * or with the HDF5 compiler wrapper:  h5cc -std=c99 -O2 -o sciml_stepper sciml_stepper.c -lm
 *
 * Internally every field is held as a 5-D array (B, n0, n1, n2, C) in C order; a 1-D or 2-D
 * stepper uses unit extents for the missing axes (kernel extent 1, no padding there).
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXDIM 3

static void die(const char *msg, const char *what) {
    fprintf(stderr, "sciml_stepper: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
    exit(2);
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) die("out of memory", NULL);
    return p;
}

/* ---------------------------------------------------------------- fields */

typedef struct {
    int b, n[MAXDIM], c; /* batch, spatial extents (unused axes = 1), channels */
    double *v;
} Field;

static Field field_new(int b, const int n[MAXDIM], int c) {
    Field f;
    f.b = b;
    f.c = c;
    for (int a = 0; a < MAXDIM; a++) f.n[a] = n[a];
    f.v = xcalloc((size_t)b * n[0] * n[1] * n[2] * c, sizeof(double));
    return f;
}

static size_t field_size(const Field *f) { return (size_t)f->b * f->n[0] * f->n[1] * f->n[2] * f->c; }

static size_t idx(const Field *f, int bb, int i, int j, int k, int ch) {
    return ((((size_t)bb * f->n[0] + i) * f->n[1] + j) * f->n[2] + k) * f->c + ch;
}

/* ------------------------------------------------------- HDF5 attributes */

static double attr_double(hid_t obj, const char *name) {
    double v;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) die("cannot read attribute", name);
    H5Aclose(a);
    return v;
}

static long attr_long(hid_t obj, const char *name) {
    long long v;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &v) < 0) die("cannot read attribute", name);
    H5Aclose(a);
    return (long)v;
}

/* A 1-D numeric attribute of `count` values. */
static void attr_doubles(hid_t obj, const char *name, double *out, int count) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) die("missing attribute", name);
    hid_t s = H5Aget_space(a);
    if (H5Sget_simple_extent_npoints(s) != count) die("attribute has the wrong length", name);
    if (H5Aread(a, H5T_NATIVE_DOUBLE, out) < 0) die("cannot read attribute", name);
    H5Sclose(s);
    H5Aclose(a);
}

/* A scalar variable-length UTF-8 string attribute, copied into buf. */
static void attr_string(hid_t obj, const char *name, char *buf, size_t len) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) die("missing attribute", name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *s = NULL;
    if (H5Aread(a, t, &s) < 0 || !s) die("cannot read string attribute", name);
    strncpy(buf, s, len - 1);
    buf[len - 1] = '\0';
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
}

/* Read a whole float dataset as double; checks its element count. */
static double *read_dataset(hid_t file, const char *name, size_t expect) {
    hid_t d = H5Dopen(file, name, H5P_DEFAULT);
    if (d < 0) die("missing dataset", name);
    hid_t s = H5Dget_space(d);
    if ((size_t)H5Sget_simple_extent_npoints(s) != expect) die("dataset has the wrong size", name);
    double *v = xcalloc(expect, sizeof(double));
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) die("cannot read", name);
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

/* ------------------------------------------------------------ the model */

typedef struct {
    int ndim, channels, width, kernel_size, depth, use_bias;
    char activation[32], net_boundary[32];
    char boundary[32], integrator[32];
    double dt, dx[MAXDIM], boundary_value;
    long grid[MAXDIM]; /* 0 = any size */
    double *state_mean, *state_std, *tendency_mean, *tendency_std;
    double **kernel, **bias; /* kernel[i]: (k^ndim, cin, cout); bias[i]: (cout) or NULL */
    int *cin, *cout;
} Model;

static Model load_model(const char *path) {
    Model m;
    memset(&m, 0, sizeof m);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) die("cannot open artifact", path);
    char fmt[64];
    attr_string(f, "format", fmt, sizeof fmt);
    if (strcmp(fmt, "sciml-stepper") != 0) die("not a sciml-stepper artifact", path);
    if (attr_long(f, "format_version") != 2) die("this program reads format_version 2", path);

    m.dt = attr_double(f, "dt");
    attr_string(f, "integrator", m.integrator, sizeof m.integrator);
    attr_string(f, "boundary", m.boundary, sizeof m.boundary);
    m.boundary_value = attr_double(f, "boundary_value");

    hid_t t = H5Gopen(f, "tendency", H5P_DEFAULT);
    if (t < 0) die("missing group", "tendency");
    char kind[64];
    attr_string(t, "kind", kind, sizeof kind);
    if (strcmp(kind, "tendency") != 0) /* stencil_flux, graph: other evaluations, see the spec */
        die("/tendency kind is not \"tendency\" (the conv -> f -> conv family); load it with "
            "sciml.load_stepper",
            kind);
    m.ndim = (int)attr_long(t, "ndim");
    m.channels = (int)attr_long(t, "channels");
    m.width = (int)attr_long(t, "width");
    m.kernel_size = (int)attr_long(t, "kernel_size");
    m.depth = (int)attr_long(t, "depth");
    m.use_bias = (int)attr_long(t, "use_bias");
    attr_string(t, "activation", m.activation, sizeof m.activation);
    attr_string(t, "boundary", m.net_boundary, sizeof m.net_boundary);
    if (m.ndim < 1 || m.ndim > MAXDIM) die("ndim must be 1, 2 or 3", path);
    if (m.kernel_size < 1 || m.kernel_size % 2 == 0) die("kernel_size must be odd", path);
    if (m.depth < 1) die("depth must be >= 1", path);
    if ((long)m.channels != attr_long(t, "out_channels")) die("out_channels != channels", path);
    H5Gclose(t);

    double dx[MAXDIM], grid[MAXDIM];
    attr_doubles(f, "dx", dx, m.ndim);
    attr_doubles(f, "grid_shape", grid, m.ndim);
    for (int a = 0; a < MAXDIM; a++) {
        m.dx[a] = a < m.ndim ? dx[a] : 1.0;
        m.grid[a] = a < m.ndim ? (long)grid[a] : 1;
    }

    int c = m.channels;
    m.state_mean = read_dataset(f, "normalization/state_mean", c);
    m.state_std = read_dataset(f, "normalization/state_std", c);
    m.tendency_mean = read_dataset(f, "normalization/tendency_mean", c);
    m.tendency_std = read_dataset(f, "normalization/tendency_std", c);

    m.kernel = xcalloc(m.depth, sizeof(double *));
    m.bias = xcalloc(m.depth, sizeof(double *));
    m.cin = xcalloc(m.depth, sizeof(int));
    m.cout = xcalloc(m.depth, sizeof(int));
    size_t taps = 1;
    for (int a = 0; a < m.ndim; a++) taps *= (size_t)m.kernel_size;
    for (int i = 0; i < m.depth; i++) {
        char name[64];
        m.cin[i] = i == 0 ? c : m.width;
        m.cout[i] = i == m.depth - 1 ? c : m.width;
        snprintf(name, sizeof name, "tendency/conv_%d/kernel", i);
        m.kernel[i] = read_dataset(f, name, taps * m.cin[i] * m.cout[i]);
        if (m.use_bias) {
            snprintf(name, sizeof name, "tendency/conv_%d/bias", i);
            m.bias[i] = read_dataset(f, name, m.cout[i]);
        }
    }
    H5Fclose(f);
    return m;
}

/* ------------------------------------------------------------- padding */

/* Index of a padded position p (may be < 0 or >= n) in an axis of n cells. */
static int pad_index(int p, int n, const char *mode) {
    if (p >= 0 && p < n) return p;
    if (strcmp(mode, "periodic") == 0) return ((p % n) + n) % n;
    if (strcmp(mode, "reflect") == 0) return p < 0 ? -p : 2 * (n - 1) - p; /* no edge repeat */
    return -1;                                                            /* zero */
}

/* Pad every used axis by h cells per side with the network padding mode. */
static Field pad_field(const Field *x, int ndim, int h, const char *mode) {
    int n[MAXDIM];
    for (int a = 0; a < MAXDIM; a++) n[a] = x->n[a] + (a < ndim ? 2 * h : 0);
    Field y = field_new(x->b, n, x->c);
    int off[MAXDIM] = {ndim > 0 ? h : 0, ndim > 1 ? h : 0, ndim > 2 ? h : 0};
    for (int bb = 0; bb < y.b; bb++)
        for (int i = 0; i < n[0]; i++)
            for (int j = 0; j < n[1]; j++)
                for (int k = 0; k < n[2]; k++) {
                    int si = pad_index(i - off[0], x->n[0], mode);
                    int sj = pad_index(j - off[1], x->n[1], mode);
                    int sk = pad_index(k - off[2], x->n[2], mode);
                    if (si < 0 || sj < 0 || sk < 0) continue; /* zero padding */
                    memcpy(&y.v[idx(&y, bb, i, j, k, 0)], &x->v[idx(x, bb, si, sj, sk, 0)],
                           (size_t)x->c * sizeof(double));
                }
    return y;
}

/* Ghost cells from the physical boundary, axis by axis (corners from already extended axes). */
static Field fill_ghost(const Field *x, const Model *m, int h) {
    if (strcmp(m->boundary, "periodic") == 0) return pad_field(x, m->ndim, h, "periodic");
    Field cur = *x;
    int owned = 0;
    for (int a = 0; a < m->ndim; a++) {
        int n[MAXDIM];
        for (int q = 0; q < MAXDIM; q++) n[q] = cur.n[q] + (q == a ? 2 * h : 0);
        Field y = field_new(cur.b, n, cur.c);
        int len = cur.n[a];
        for (int bb = 0; bb < y.b; bb++)
            for (int i = 0; i < n[0]; i++)
                for (int j = 0; j < n[1]; j++)
                    for (int k = 0; k < n[2]; k++) {
                        int p[MAXDIM] = {i, j, k};
                        int pos = p[a] - h; /* position along axis a in the unextended field */
                        int src = pos, ghost = 0, jface = 0;
                        if (pos < 0) { /* j-th ghost from the low face mirrors cell j */
                            jface = -pos - 1;
                            src = jface;
                            ghost = 1;
                        } else if (pos >= len) {
                            jface = pos - len;
                            src = len - 1 - jface;
                            ghost = 1;
                        }
                        p[a] = src;
                        for (int ch = 0; ch < cur.c; ch++) {
                            double u = cur.v[idx(&cur, bb, p[0], p[1], p[2], ch)];
                            double g = m->boundary_value, v = u;
                            if (ghost && strcmp(m->boundary, "dirichlet") == 0) v = 2.0 * g - u;
                            if (ghost && strcmp(m->boundary, "neumann") == 0)
                                v = u + (2.0 * jface + 1.0) * m->dx[a] * g;
                            y.v[idx(&y, bb, i, j, k, ch)] = v;
                        }
                    }
        if (owned) free(cur.v);
        cur = y;
        owned = 1;
    }
    return cur;
}

/* ------------------------------------------------------- activation, conv */

static double activate(double x, const char *name) {
    if (strcmp(name, "relu") == 0) return x > 0 ? x : 0;
    if (strcmp(name, "gelu") == 0) return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    if (strcmp(name, "tanh") == 0) return tanh(x);
    if (strcmp(name, "swish") == 0) return x * 0.5 * (1.0 + tanh(0.5 * x));
    if (strcmp(name, "softplus") == 0) return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
    if (strcmp(name, "elu") == 0) return x > 0 ? x : expm1(x);
    if (strcmp(name, "leaky_relu") == 0) return x >= 0 ? x : 0.2 * x;
    if (strcmp(name, "sigmoid") == 0) return 0.5 * (1.0 + tanh(0.5 * x));
    if (strcmp(name, "identity") == 0) return x;
    die("unknown activation", name);
    return 0;
}

/* Valid cross-correlation of an already padded field: extents shrink by k - 1 per used axis. */
static Field conv_valid(const Field *x, const Model *m, int layer) {
    int k = m->kernel_size, kk[MAXDIM], n[MAXDIM];
    for (int a = 0; a < MAXDIM; a++) {
        kk[a] = a < m->ndim ? k : 1;
        n[a] = x->n[a] - kk[a] + 1;
    }
    int cin = m->cin[layer], cout = m->cout[layer];
    const double *w = m->kernel[layer], *b = m->bias[layer];
    Field y = field_new(x->b, n, cout);
    for (int bb = 0; bb < y.b; bb++)
        for (int i = 0; i < n[0]; i++)
            for (int j = 0; j < n[1]; j++)
                for (int l = 0; l < n[2]; l++) {
                    double *out = &y.v[idx(&y, bb, i, j, l, 0)];
                    for (int o = 0; o < cout; o++) out[o] = b ? b[o] : 0.0;
                    size_t tap = 0; /* kernel offsets in C order over the used axes */
                    for (int q0 = 0; q0 < kk[0]; q0++)
                        for (int q1 = 0; q1 < kk[1]; q1++)
                            for (int q2 = 0; q2 < kk[2]; q2++, tap++) {
                                const double *in = &x->v[idx(x, bb, i + q0, j + q1, l + q2, 0)];
                                const double *wt = &w[tap * cin * cout];
                                for (int ci = 0; ci < cin; ci++)
                                    for (int o = 0; o < cout; o++) out[o] += in[ci] * wt[ci * cout + o];
                            }
                }
    return y;
}

/* dz/dt = tendency_std * G((z - state_mean) / state_std) + tendency_mean */
static Field tendency(const Field *z, const Model *m) {
    int half = m->kernel_size / 2, ghost = strcmp(m->net_boundary, "ghost") == 0;
    Field h = ghost ? fill_ghost(z, m, m->depth * half) : field_new(z->b, z->n, z->c);
    if (!ghost) memcpy(h.v, z->v, field_size(z) * sizeof(double));
    size_t cells = field_size(&h) / h.c;
    for (size_t p = 0; p < cells; p++)
        for (int ch = 0; ch < h.c; ch++)
            h.v[p * h.c + ch] = (h.v[p * h.c + ch] - m->state_mean[ch]) / m->state_std[ch];
    for (int layer = 0; layer < m->depth; layer++) {
        Field in = ghost ? h : pad_field(&h, m->ndim, half, m->net_boundary);
        Field y = conv_valid(&in, m, layer);
        if (!ghost) free(in.v);
        free(h.v);
        if (layer < m->depth - 1)
            for (size_t p = 0; p < field_size(&y); p++) y.v[p] = activate(y.v[p], m->activation);
        h = y;
    }
    cells = field_size(&h) / h.c;
    for (size_t p = 0; p < cells; p++)
        for (int ch = 0; ch < h.c; ch++)
            h.v[p * h.c + ch] = m->tendency_std[ch] * h.v[p * h.c + ch] + m->tendency_mean[ch];
    return h;
}

/* ------------------------------------------------------------- stepping */

/* out = a * x + b * y (elementwise; a or b may be 0) */
static Field axpby(double a, const Field *x, double b, const Field *y) {
    Field out = field_new(x->b, x->n, x->c);
    for (size_t p = 0; p < field_size(x); p++) out.v[p] = a * x->v[p] + b * y->v[p];
    return out;
}

static Field step(const Field *z, const Model *m) {
    double dt = m->dt;
    if (strcmp(m->integrator, "euler") == 0) {
        Field k1 = tendency(z, m), out = axpby(1.0, z, dt, &k1);
        free(k1.v);
        return out;
    }
    if (strcmp(m->integrator, "rk2") == 0) { /* Heun */
        Field k1 = tendency(z, m), z1 = axpby(1.0, z, dt, &k1), k2 = tendency(&z1, m);
        Field out = field_new(z->b, z->n, z->c);
        for (size_t p = 0; p < field_size(z); p++) out.v[p] = z->v[p] + 0.5 * dt * (k1.v[p] + k2.v[p]);
        free(k1.v), free(z1.v), free(k2.v);
        return out;
    }
    if (strcmp(m->integrator, "ssprk3") == 0) { /* Shu-Osher */
        Field k1 = tendency(z, m), z1 = axpby(1.0, z, dt, &k1), k2 = tendency(&z1, m);
        Field z2 = field_new(z->b, z->n, z->c);
        for (size_t p = 0; p < field_size(z); p++) z2.v[p] = 0.75 * z->v[p] + 0.25 * (z1.v[p] + dt * k2.v[p]);
        Field k3 = tendency(&z2, m), out = field_new(z->b, z->n, z->c);
        for (size_t p = 0; p < field_size(z); p++)
            out.v[p] = z->v[p] / 3.0 + 2.0 / 3.0 * (z2.v[p] + dt * k3.v[p]);
        free(k1.v), free(z1.v), free(k2.v), free(z2.v), free(k3.v);
        return out;
    }
    if (strcmp(m->integrator, "rk4") == 0) {
        Field k1 = tendency(z, m), s1 = axpby(1.0, z, 0.5 * dt, &k1), k2 = tendency(&s1, m);
        Field s2 = axpby(1.0, z, 0.5 * dt, &k2), k3 = tendency(&s2, m);
        Field s3 = axpby(1.0, z, dt, &k3), k4 = tendency(&s3, m);
        Field out = field_new(z->b, z->n, z->c);
        for (size_t p = 0; p < field_size(z); p++)
            out.v[p] = z->v[p] + dt / 6.0 * (k1.v[p] + 2.0 * k2.v[p] + 2.0 * k3.v[p] + k4.v[p]);
        free(k1.v), free(s1.v), free(k2.v), free(s2.v), free(k3.v), free(s3.v), free(k4.v);
        return out;
    }
    die("unknown integrator", m->integrator);
    return *z;
}

/* ------------------------------------------------------------------ I/O */

static Field read_state(const char *path, const Model *m, hsize_t dims[MAXDIM + 2], int *rank) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) die("cannot open input", path);
    hid_t d = H5Dopen(f, "state", H5P_DEFAULT);
    if (d < 0) die("input has no dataset", "state");
    hid_t s = H5Dget_space(d);
    *rank = H5Sget_simple_extent_ndims(s);
    if (*rank != m->ndim + 2) die("input state must be (B, *spatial, C)", path);
    H5Sget_simple_extent_dims(s, dims, NULL);
    int n[MAXDIM] = {1, 1, 1};
    for (int a = 0; a < m->ndim; a++) {
        n[a] = (int)dims[a + 1];
        if (m->grid[a] && n[a] != m->grid[a]) die("input grid differs from the artifact's grid_shape", path);
    }
    if ((int)dims[*rank - 1] != m->channels) die("input channel count differs from the artifact's", path);
    /* Fewest points per axis (spec, "Grid"): ghost mirrors depth * (k / 2) interior cells,
     * reflect reflects once. */
    int half = m->kernel_size / 2, need = 1;
    if (strcmp(m->net_boundary, "ghost") == 0) need = m->depth * half > 1 ? m->depth * half : 1;
    if (strcmp(m->net_boundary, "reflect") == 0) need = half + 1;
    for (int a = 0; a < m->ndim; a++)
        if (n[a] < need) die("input grid has an axis below the network's minimum size; use a finer grid", path);
    Field z = field_new((int)dims[0], n, m->channels);
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, z.v) < 0) die("cannot read", "state");
    H5Sclose(s), H5Dclose(d), H5Fclose(f);
    return z;
}

static void write_dataset(hid_t f, const char *name, const Field *z, const hsize_t *dims, int rank) {
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate(f, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, z->v) < 0)
        die("cannot write", name);
    H5Dclose(d), H5Sclose(s);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s ARTIFACT.h5 INPUT.h5 OUTPUT.h5 NSTEPS\n", argv[0]);
        return 2;
    }
    Model m = load_model(argv[1]);
    hsize_t dims[MAXDIM + 2];
    int rank;
    Field z = read_state(argv[2], &m, dims, &rank);
    long nsteps = strtol(argv[4], NULL, 10);
    Field dzdt = tendency(&z, &m);
    for (long s = 0; s < nsteps; s++) {
        Field next = step(&z, &m);
        free(z.v);
        z = next;
    }
    hid_t f = H5Fcreate(argv[3], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) die("cannot create output", argv[3]);
    write_dataset(f, "state", &z, dims, rank);
    write_dataset(f, "tendency", &dzdt, dims, rank);
    H5Fclose(f);
    return 0;
}
