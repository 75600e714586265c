/* fixture.c - loading frontend test fixtures (see fixture.h). */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep(fx_fixture *fx, void *p)
{
    if (p && fx->nalloc < (int)(sizeof fx->alloc / sizeof fx->alloc[0]))
        fx->alloc[fx->nalloc++] = p;
    return p;
}

static int starts(const char *line, const char *word, const char **rest)
{
    size_t n = strlen(word);
    if (strncmp(line, word, n) != 0 || (line[n] != ' ' && line[n] != 0))
        return 0;
    *rest = line[n] ? line + n + 1 : line + n;
    return 1;
}

static int dtype_of(const char *s)
{
    for (int d = 0; d < FE_DT_COUNT_; d++)
        if (strcmp(s, fe_dtype_name((fe_dtype)d)) == 0)
            return d;
    return -1;
}

/* Parses the constant at lines[*i] (and, for a tuple, the ones after). */
static int parse_const(fx_fixture *fx, int *i, fe_const *c)
{
    const char *r;
    memset(c, 0, sizeof *c);
    if (*i >= fx->nlines || !starts(fx->lines[*i], "const", &r))
        return -1;
    (*i)++;
    if (strcmp(r, "none") == 0) {
        c->kind = FE_CONST_NONE;
    } else if (strncmp(r, "bool ", 5) == 0) {
        c->kind = FE_CONST_BOOL;
        c->i = atoi(r + 5);
    } else if (strncmp(r, "int ", 4) == 0) {
        c->kind = FE_CONST_INT;
        c->i = strtoll(r + 4, NULL, 10);
    } else if (strncmp(r, "float ", 6) == 0) {
        c->kind = FE_CONST_FLOAT;
        c->f = strtod(r + 6, NULL); /* hexadecimal floats are exact */
    } else if (strncmp(r, "str ", 4) == 0 || strcmp(r, "str") == 0) {
        c->kind = FE_CONST_STR;
        c->s = r[3] ? r + 4 : "";
    } else if (strncmp(r, "tuple ", 6) == 0) {
        int n = atoi(r + 6);
        fe_const *items = keep(fx, calloc((size_t)n + 1, sizeof *items));
        if (!items)
            return -1;
        c->kind = FE_CONST_TUPLE;
        c->nitems = n;
        c->items = items;
        for (int k = 0; k < n; k++)
            if (parse_const(fx, i, &items[k]) < 0)
                return -1;
    } else {
        c->kind = FE_CONST_OTHER;
    }
    return 0;
}

static int parse_arg(const char *r, fe_argtype *a)
{
    char kind[32], dtype[32], layout[8];
    int ndim;
    if (sscanf(r, "%31s %31s %d %7s", kind, dtype, &ndim, layout) != 4)
        return -1;
    static const struct {
        const char *name;
        fe_argkind kind;
    } kinds[] = {{"none", FE_ARG_NONE},   {"bool", FE_ARG_BOOL},   {"int", FE_ARG_INT},
                 {"float", FE_ARG_FLOAT}, {"np", FE_ARG_NPSCALAR}, {"array", FE_ARG_ARRAY},
                 {"list", FE_ARG_LIST},   {"list_out", FE_ARG_LIST_OUT}};
    int k = -1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, kind) == 0)
            k = (int)kinds[i].kind;
    int d = dtype_of(dtype);
    if (k < 0 || d < 0)
        return -1;
    a->kind = (uint8_t)k;
    a->dtype = (uint8_t)d;
    a->ndim = (uint8_t)ndim;
    a->layout = (uint8_t)(layout[0] == 'F' ? FE_LAYOUT_F : layout[0] == 'A' ? FE_LAYOUT_A : FE_LAYOUT_C);
    return 0;
}

static int parse_global(const char *r, fe_global *g)
{
    if (strncmp(r, "unbound", 7) == 0) {
        g->kind = FE_GLOBAL_UNBOUND;
    } else if (strncmp(r, "builtin ", 8) == 0) {
        g->kind = FE_GLOBAL_BUILTIN;
        g->name = r + 8;
    } else if (strncmp(r, "module ", 7) == 0) {
        g->kind = FE_GLOBAL_MODULE;
        g->name = r + 7;
    } else if (strncmp(r, "const ", 6) == 0) {
        g->kind = FE_GLOBAL_CONST;
        if (strncmp(r + 6, "int ", 4) == 0) {
            g->value.kind = FE_CONST_INT;
            g->value.i = strtoll(r + 10, NULL, 10);
        } else if (strncmp(r + 6, "float ", 6) == 0) {
            g->value.kind = FE_CONST_FLOAT;
            g->value.f = strtod(r + 12, NULL);
        } else {
            g->value.kind = FE_CONST_BOOL;
            g->value.i = atoi(r + 11);
        }
    } else {
        g->kind = FE_GLOBAL_OTHER;
    }
    return 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

int fx_load(const char *path, fx_fixture *fx, char *err, size_t errlen)
{
    memset(fx, 0, sizeof *fx);
    size_t len;
    char *text = keep(fx, read_all(path, &len));
    if (!text) {
        snprintf(err, errlen, "cannot read %s", path);
        return -1;
    }
    int cap = 16;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == '\n';
    fx->lines = keep(fx, calloc((size_t)cap, sizeof *fx->lines));
    for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        fx->lines[fx->nlines++] = p;
    }
    const char *names[256] = {0};
    uint8_t ncache[256] = {0};
    char *opnames = keep(fx, calloc(256, 32));
    fe_const *consts = keep(fx, calloc((size_t)fx->nlines + 1, sizeof *consts));
    const char **cnames = keep(fx, calloc((size_t)fx->nlines + 1, sizeof *cnames));
    fe_global *globals = keep(fx, calloc((size_t)fx->nlines + 1, sizeof *globals));
    const char **vars = keep(fx, calloc((size_t)fx->nlines + 1, sizeof *vars));
    fe_loc *pos = keep(fx, calloc((size_t)fx->nlines + 1, sizeof *pos));
    uint8_t *code = NULL;
    int npos = 0;
    for (int i = 0; i < fx->nlines;) {
        const char *r, *line = fx->lines[i];
        if (starts(line, "const", &r)) {
            if (parse_const(fx, &i, &consts[fx->code.nconsts++]) < 0)
                goto bad;
            continue;
        }
        i++;
        if (starts(line, "python", &r)) {
            fx->py_minor = atoi(r);
        } else if (starts(line, "name", &r)) {
            snprintf(fx->name, sizeof fx->name, "%s", r);
        } else if (starts(line, "opcode", &r)) {
            int num, nc;
            char nm[32];
            if (sscanf(r, "%d %31s %d", &num, nm, &nc) != 3 || num < 0 || num > 255)
                goto bad;
            snprintf(opnames + 32 * num, 32, "%s", nm);
            names[num] = opnames + 32 * num;
            ncache[num] = (uint8_t)nc;
        } else if (starts(line, "code", &r)) {
            size_t n = strlen(r) / 2;
            code = keep(fx, malloc(n + 1));
            for (size_t k = 0; k < n; k++) {
                unsigned v;
                sscanf(r + 2 * k, "%2x", &v);
                code[k] = (uint8_t)v;
            }
            fx->code.code = code;
            fx->code.ncode = n;
        } else if (starts(line, "name_", &r)) {
            cnames[fx->code.nnames] = r;
            if (i < fx->nlines && starts(fx->lines[i], "global", &r))
                parse_global(r, &globals[fx->code.nnames]), i++;
            fx->code.nnames++;
        } else if (starts(line, "var", &r)) {
            vars[fx->code.nlocals++] = r;
        } else if (starts(line, "nargs", &r)) {
            fx->code.nargs = atoi(r);
        } else if (starts(line, "exctable", &r)) {
            fx->code.has_exception_table = atoi(r);
        } else if (starts(line, "pos", &r)) {
            if (sscanf(r, "%d %d %d", &pos[npos].line, &pos[npos].col, &pos[npos].end_col) != 3)
                goto bad;
            npos++;
        } else if (starts(line, "arg", &r)) {
            if (fx->nargtypes >= FX_MAX || parse_arg(r, &fx->args[fx->nargtypes++]) < 0)
                goto bad;
        } else if (starts(line, "loop", &r)) {
            fe_loopspec *l = &fx->loops[fx->nloops++];
            int par;
            if (fx->nloops > 8 || sscanf(r, "%d %d %d", &l->line, &par, &l->collapse) != 3)
                goto bad;
            l->par = (fe_par)par;
        } else if (starts(line, "listout", &r)) {
            fe_listout *lo = &fx->listouts[fx->nlistouts++];
            if (fx->nlistouts > 8 || sscanf(r, "%d %d", &lo->param, &lo->len_param) != 2)
                goto bad;
        } else if (starts(line, "nouts", &r)) {
            fx->nouts = atoi(r);
        } else if (starts(line, "expect", &r) && fx->nexpect < FX_MAX) {
            fx->expect[fx->nexpect++] = r;
        } else if (starts(line, "reject", &r) && fx->nreject < FX_MAX) {
            fx->reject[fx->nreject++] = r;
        } else if (starts(line, "type", &r) && fx->ntypes < FX_MAX) {
            char *sp = strchr(r, ' ');
            if (!sp)
                goto bad;
            *sp = 0;
            fx->type_var[fx->ntypes] = r;
            fx->type_str[fx->ntypes++] = sp + 1;
        } else if (starts(line, "error", &r)) {
            char *sp = strchr(r, ' ');
            if (!sp)
                goto bad;
            *sp = 0;
            fx->error_kind = r;
            fx->error_text = sp + 1;
        }
    }
    if (!code || npos * 2 < (int)fx->code.ncode || fx->nargtypes != fx->code.nargs)
        goto bad;
    fx->code.consts = consts;
    fx->code.names = cnames;
    fx->code.globals = globals;
    fx->code.varnames = vars;
    fx->code.positions = pos;
    fx->code.filename = fx->name;
    fx->code.qualname = fx->name;
    fx->optable = fe_optable_new(fx->py_minor, names, ncache);
    if (!fx->optable)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "malformed fixture %s", path);
    fx_free(fx);
    return -1;
}

void fx_free(fx_fixture *fx)
{
    fe_optable_free(fx->optable);
    for (int i = 0; i < fx->nalloc; i++)
        free(fx->alloc[i]);
    memset(fx, 0, sizeof *fx);
}

fe_region fx_region(fx_fixture *fx, const char *symbol)
{
    fe_region r = {
        .optable = fx->optable,
        .code = &fx->code,
        .argtypes = fx->args,
        .construct = FE_DIR_PARALLEL_LOOP,
        .loc = {fx->loops[0].line, 0, -1},
        .nloops = fx->nloops,
        .loops = fx->loops,
        .nlistouts = fx->nlistouts,
        .listouts = fx->listouts,
        .nouts = fx->nouts,
        .threads_param = -1,
        .shape_param = -1,
        .symbol = symbol,
    };
    return r;
}
