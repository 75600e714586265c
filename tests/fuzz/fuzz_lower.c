/* fuzz_lower.c - libFuzzer harness for the bytecode frontend: decode,
 * build, infer and lower to LLVM IR (fe_lower_region), with no JIT and
 * nothing run.  Errors are fine; crashes, leaks, hangs and UBSan reports
 * are not, nor an error without its status and message.
 *
 * Each input is a fixture of tests/c/lower with its code replaced:
 *
 *     NAME '\n' RETYPE_ARG RETYPE_KIND RETYPE_TYPE REGION CODE...
 *
 * NAME picks the fixture (e.g. "saxpy.py312"; any other text picks one by
 * its hash, so every input runs).  Its constants, names, variables, loop
 * specs and positions stay; CODE becomes its instruction bytes (an odd last
 * byte is dropped), decoded with the whole opcode table of its Python
 * version (tests/fuzz/opcodes/, so any opcode may appear).  The four bytes
 * vary what the Python side could pass for the same code:
 *   RETYPE_ARG   0: none; else parameter (RETYPE_ARG - 1) % nargs gets
 *   RETYPE_KIND  a kind (none, bool, int, float, NumPy scalar, array, list,
 *                tuple, opaque: value % 9) and
 *   RETYPE_TYPE  dtype (low 4 bits % 13), ndim (1 + bits 4-5) and layout
 *                (bits 6-7: C, F, A, C overlapping) where the kind has them;
 *                a list_out parameter keeps its kind (the region's listouts
 *                name it);
 *   REGION       bits 0-1 the construct (kept, kernels, serial, parallel),
 *                bits 2-3 every loop's par (kept, independent, auto, seq),
 *                bits 4-5 their collapse (kept, or 1 + value), bit 6
 *                boundscheck.
 * Missing header bytes are zero.  tests/fuzz/make_seeds.py writes one seed
 * per fixture with zero header bytes and the fixture's own code.  A custom
 * mutator adds instruction-aligned mutations to libFuzzer's own.
 */
#include "bytecode.h"
#include "fe.h"
#include "fixture.h"

#include <dirent.h>
#include <llvm-c/Core.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/c/lower"
#endif
#ifndef OPCODE_DIR
#error "OPCODE_DIR must name tests/fuzz/opcodes"
#endif

#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "fuzz_lower: %s:%d: check '%s' failed: ", __FILE__,   \
                    __LINE__, #cond);                                              \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
            abort();                                                               \
        }                                                                          \
    } while (0)

typedef struct case_ {
    char key[64]; /* file name less ".fixture" */
    fx_fixture fx;
    size_t nunits; /* the fixture's own code units: positions has as many */
    uint8_t known[256]; /* the opcode numbers the frontend knows, for the mutator */
    int nknown;
} case_;

static case_ *cases;
static int ncases;
static int verbose; /* PYACC_FUZZ_VERBOSE=1: print each input's outcome */

/* The whole opcode table of Python 3.minor from OPCODE_DIR, or NULL. */
static fe_optable *full_optable(int minor)
{
    char path[512], line[128];
    snprintf(path, sizeof path, "%s/py3%d.opcodes", OPCODE_DIR, minor);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char names[256][32];
    const char *np[256] = {0};
    uint8_t ncache[256] = {0};
    while (fgets(line, sizeof line, f)) {
        int op, nc;
        char nm[32];
        if (sscanf(line, "opcode %d %31s %d", &op, nm, &nc) == 3 && op >= 0 && op < 256) {
            snprintf(names[op], sizeof names[op], "%s", nm);
            np[op] = names[op];
            ncache[op] = (uint8_t)nc;
        }
    }
    fclose(f);
    return fe_optable_new(minor, np, ncache);
}

static int is_fixture(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 8 && strcmp(e->d_name + n - 8, ".fixture") == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *v = getenv("PYACC_FUZZ_VERBOSE");
    verbose = v && *v && *v != '0';
    const char *dir = getenv("PYACC_FUZZ_FIXTURES");
    if (!dir)
        dir = FIXTURE_DIR;
    struct dirent **ents;
    int n = scandir(dir, &ents, is_fixture, alphasort); /* sorted: inputs mean the same every run */
    CHECK(n > 0, "no fixtures in %s", dir);
    cases = calloc((size_t)n, sizeof *cases);
    CHECK(cases, "out of memory");
    for (int i = 0; i < n; i++) {
        case_ *c = &cases[ncases];
        char path[1024], err[256];
        snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
        CHECK(fx_load(path, &c->fx, err, sizeof err) == 0, "%s", err);
        snprintf(c->key, sizeof c->key, "%.*s", (int)(strlen(ents[i]->d_name) - 8),
                 ents[i]->d_name);
        c->nunits = c->fx.code.ncode / 2;
        fe_optable *ot = full_optable(c->fx.py_minor);
        if (ot) {
            fe_optable_free(c->fx.optable);
            c->fx.optable = ot;
        }
        for (int op = 0; op < 256; op++)
            if (c->fx.optable->op[op] != FE_OP_UNKNOWN && c->fx.optable->op[op] != FE_OP_CACHE)
                c->known[c->nknown++] = (uint8_t)op;
        ncases++;
        free(ents[i]);
    }
    free(ents);
    return 0;
}

static case_ *pick(const uint8_t *name, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < ncases; i++)
        if (strlen(cases[i].key) == len && memcmp(cases[i].key, name, len) == 0)
            return &cases[i];
    for (size_t i = 0; i < len; i++)
        h = (h ^ name[i]) * 16777619u;
    return &cases[h % (uint32_t)ncases];
}

/* A type the Python side could pass for a parameter (python/ext/args.c). */
static fe_argtype retype(uint8_t kind, uint8_t t)
{
    static const uint8_t kinds[] = {FE_ARG_NONE,  FE_ARG_BOOL,  FE_ARG_INT,
                                    FE_ARG_FLOAT, FE_ARG_NPSCALAR, FE_ARG_ARRAY,
                                    FE_ARG_LIST,  FE_ARG_LIST,  FE_ARG_OPAQUE};
    static const uint8_t list_dt[] = {FE_DT_BOOL, FE_DT_INT64, FE_DT_FLOAT64};
    static const uint8_t layouts[] = {FE_LAYOUT_C, FE_LAYOUT_F, FE_LAYOUT_A,
                                      FE_LAYOUT_C | FE_LAYOUT_OVERLAPS};
    int k = kind % (int)sizeof kinds;
    fe_argtype a = {kinds[k], 0, 0, 0};
    int dt = (t & 15) % FE_DT_COUNT_;
    switch (a.kind) {
    case FE_ARG_NPSCALAR: /* NumPy's complex scalars are opaque */
        a.dtype = (uint8_t)(dt % FE_DT_COMPLEX64);
        break;
    case FE_ARG_ARRAY:
        a.dtype = (uint8_t)dt;
        a.ndim = (uint8_t)(1 + ((t >> 4) & 3));
        a.layout = layouts[t >> 6];
        break;
    case FE_ARG_LIST: /* a list (layout 0) or a tuple (layout 1) */
        a.dtype = list_dt[dt % 3];
        a.ndim = 1;
        a.layout = k == 7;
        break;
    default:
        break;
    }
    return a;
}

/* The fixture an input names and where its header bytes start. */
static case_ *parse_name(const uint8_t *data, size_t size, size_t *pos)
{
    const uint8_t *nl = memchr(data, '\n', size < 64 ? size : 64);
    size_t namelen = nl ? (size_t)(nl - data) : 0;
    *pos = nl ? namelen + 1 : 0;
    return pick(data, namelen);
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

/* Half the time libFuzzer's byte-level mutations; else one on whole code
 * units, which keeps opcode and argument bytes aligned: another known
 * opcode, a small argument, an instruction (with its cache entries)
 * inserted, a unit deleted, or a run of units copied elsewhere. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
    uint32_t r = seed * 2654435761u + 1;
#define RND() (r ^= r << 13, r ^= r >> 17, r ^= r << 5, r)
    if (RND() % 2 == 0 || size == 0)
        return LLVMFuzzerMutate(data, size, max);
    size_t pos;
    case_ *c = parse_name(data, size, &pos);
    pos += 4; /* the header bytes */
    if (pos >= size || c->nknown == 0)
        return LLVMFuzzerMutate(data, size, max);
    size_t nunits = (size - pos) / 2;
    uint8_t *code = data + pos;
    size_t u = nunits ? RND() % nunits : 0;
    switch (RND() % 5) {
    case 0: /* another opcode */
        if (nunits)
            code[2 * u] = c->known[RND() % c->nknown];
        break;
    case 1: /* a small argument */
        if (nunits)
            code[2 * u + 1] = (uint8_t)(RND() % 8);
        break;
    case 2: { /* insert an instruction and its caches */
        uint8_t op = c->known[RND() % c->nknown];
        size_t n = 2 * (1 + (size_t)c->fx.optable->ncache[op]);
        size_t at = pos + 2 * (nunits ? RND() % (nunits + 1) : 0);
        if (size + n > max)
            break;
        memmove(data + at + n, data + at, size - at);
        memset(data + at, 0, n);
        data[at] = op;
        data[at + 1] = (uint8_t)(RND() % 4);
        size += n;
        break;
    }
    case 3: /* delete a unit */
        if (nunits) {
            memmove(code + 2 * u, code + 2 * u + 2, size - pos - 2 * u - 2);
            size -= 2;
        }
        break;
    default: { /* copy a run of units over another place */
        if (nunits < 2)
            break;
        size_t len = 1 + RND() % (nunits / 2), from = RND() % (nunits - len + 1),
               to = RND() % (nunits - len + 1);
        memmove(code + 2 * to, code + 2 * from, 2 * len);
        break;
    }
    }
#undef RND
    return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos;
    case_ *c = parse_name(data, size, &pos);
    fx_fixture *fx = &c->fx;
    uint8_t hdr[4] = {0};
    for (int i = 0; i < 4 && pos < size; i++)
        hdr[i] = data[pos++];

    /* The code in a buffer of its own size: ASan sees any read past it. */
    size_t ncode = (size - pos) & ~(size_t)1, nunits = ncode / 2;
    uint8_t *code = malloc(ncode ? ncode : 1);
    fe_loc *positions = malloc((nunits ? nunits : 1) * sizeof *positions);
    CHECK(code && positions, "out of memory");
    memcpy(code, data + pos, ncode);
    for (size_t u = 0; u < nunits; u++)
        positions[u] = c->nunits ? fx->code.positions[u < c->nunits ? u : c->nunits - 1]
                                 : (fe_loc){1, 0, -1};
    fe_code co = fx->code;
    co.code = code;
    co.ncode = ncode;
    co.positions = positions;

    fe_argtype args[FX_MAX];
    memcpy(args, fx->args, sizeof args);
    if (hdr[0] && fx->nargtypes > 0) {
        int a = (hdr[0] - 1) % fx->nargtypes;
        if (args[a].kind != FE_ARG_LIST_OUT)
            args[a] = retype(hdr[1], hdr[2]);
    }
    fe_loopspec loops[8];
    memcpy(loops, fx->loops, sizeof loops);
    static const fe_par pars[] = {FE_PAR_NONE, FE_PAR_INDEPENDENT, FE_PAR_AUTO, FE_PAR_SEQ};
    for (int i = 0; i < fx->nloops; i++) {
        if ((hdr[3] >> 2) & 3)
            loops[i].par = pars[(hdr[3] >> 2) & 3];
        if ((hdr[3] >> 4) & 3)
            loops[i].collapse = 1 + ((hdr[3] >> 4) & 3);
    }
    fe_region r = fx_region(fx, "fuzz_region");
    static const fe_dir_kind constructs[] = {FE_DIR_PARALLEL_LOOP, FE_DIR_KERNELS, FE_DIR_SERIAL,
                                             FE_DIR_PARALLEL};
    r.construct = constructs[hdr[3] & 3];
    r.code = &co;
    r.argtypes = args;
    r.loops = loops;
    r.boundscheck = (hdr[3] >> 6) & 1;

    LLVMContextRef ctx = LLVMContextCreate();
    fe_result res;
    fe_error err;
    memset(&err, 0xA5, sizeof err);
    fe_status st = fe_lower_region(&r, ctx, &res, &err);
    if (verbose)
        fprintf(stderr, "fuzz_lower: %s: status %d at %d:%d: %s\n", c->key, st,
                st ? err.loc.line : 0, st ? err.loc.col : 0, st ? err.msg : "");
    if (st == FE_OK) {
        CHECK(res.module, "FE_OK without a module");
        LLVMDisposeModule(res.module);
        res.module = NULL;
        fe_result_free(&res);
    } else {
        CHECK(st > FE_OK && st <= FE_ERR_NOMEM, "status %d", st);
        CHECK(err.status == st, "err.status %d, returned %d", err.status, st);
        CHECK(memchr(err.msg, '\0', sizeof err.msg) && err.msg[0], "no message");
        CHECK(memchr(err.file, '\0', sizeof err.file), "file not terminated");
        /* An error on the user's side must say where; a bug in pyacc may not. */
        CHECK(st == FE_ERR_INTERNAL || st == FE_ERR_NOMEM || err.loc.line > 0,
              "status %d without a line: %s", st, err.msg);
    }
    LLVMContextDispose(ctx);
    free(code);
    free(positions);
    return 0;
}
