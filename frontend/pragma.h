/* pragma.h - what the three files of the OpenACC pragma parser share:
 * pragma.c (the grammar, the tables of directives and clauses, directives
 * and the entry points), clause.c (clauses and their arguments) and
 * pragma_lex.c (the text under both: characters and words, positions in the
 * user's file, error messages, and scanning Python expression text).
 *
 * Nothing here is part of the frontend's interface (fe.h): the parser's
 * state and steps are shared only among those three files.
 */
#ifndef PYACC_FE_PRAGMA_H
#define PYACC_FE_PRAGMA_H

#include "fe.h"

#include <stdint.h>
#include <string.h>

/* Longest user text quoted in a message. */
#define QUOTE_MAX 40

#define BIT(k) (UINT64_C(1) << (k))
#define B(name) BIT(FE_CL_##name)

_Static_assert(FE_CL_COUNT_ <= 64, "clause sets are 64-bit masks");

/* ------------------------------------------------------ tables (pragma.c) */

typedef enum arg_form {
    ARG_NONE,      /* takes no argument */
    ARG_EXPR,      /* one expression */
    ARG_NUM_GANGS, /* one to three expressions */
    ARG_WAIT,
    ARG_DEVTYPE,
    ARG_DEFAULT,
    ARG_VARS,
    ARG_REDUCTION,
    ARG_COLLAPSE,
    ARG_GANG,
    ARG_WORKER,
    ARG_VECTOR,
    ARG_TILE,
    ARG_BIND
} arg_form;

struct clause_info {
    const char *name;
    arg_form form;
    int optional;  /* the argument may be left out */
    unsigned mods; /* modifiers its var list accepts */
};

struct dir_info {
    const char *name;
    uint64_t allowed;
    uint64_t after_dtype; /* 0: device_type does not split the clauses */
};

extern const struct clause_info fe_clause_info[FE_CL_COUNT_];
extern const struct dir_info fe_dir_info[FE_DIR_COUNT_];
/* The words after `atomic`: read, write, update, capture. */
extern const char *const fe_atomic_words[4];

#define DATA_CL                                                                 \
    (B(COPY) | B(COPYIN) | B(COPYOUT) | B(CREATE) | B(NO_CREATE) | B(PRESENT) | \
     B(DEVICEPTR) | B(ATTACH))

/* ------------------------------------------------------------ parser state */

/* One source line's share of the joined text: text[off, off+len) came from
 * file line `line`, starting at column `col`. */
typedef struct seg {
    uint32_t off;
    uint32_t len;
    uint32_t src; /* where the share starts in its line's text */
    int line;
    int col;
} seg;

typedef struct parser {
    const char *s; /* the joined text, NUL-terminated */
    uint32_t n;
    const seg *segs;
    int nsegs;
    fe_directive *d;
    fe_error *err;
    uint64_t allowed;    /* clauses this directive takes */
    char label[32];      /* the directive as messages name it */
    int clause_cap;
    /* Where item parsers append: the current clause's items or the
     * directive's own argument. */
    fe_item **items;
    int *nitems;
    int item_cap;
    /* The clause whose arguments are being read, for messages: "copyin(". */
    const char *cname;
    char copen;
} parser;

/* ------------------------------------------------- characters and words */

static inline int fe_is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Bytes >= 0x80 count as identifier characters: Python's own compiler
 * judges non-ASCII names later. */
static inline int fe_is_id_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static inline int fe_is_id_char(int c)
{
    return fe_is_id_start(c) || (c >= '0' && c <= '9');
}

static inline int fe_at(const parser *p, uint32_t pos)
{
    return (unsigned char)p->s[pos];
}

static inline uint32_t fe_skip_blanks(const parser *p, uint32_t pos, uint32_t end)
{
    while (pos < end && fe_is_blank(fe_at(p, pos)))
        pos++;
    return pos;
}

static inline uint32_t fe_ident_end(const parser *p, uint32_t pos, uint32_t end)
{
    if (pos >= end || !fe_is_id_start(fe_at(p, pos)))
        return pos;
    pos++;
    while (pos < end && fe_is_id_char(fe_at(p, pos)))
        pos++;
    return pos;
}

static inline int fe_word_is(const parser *p, uint32_t pos, uint32_t len, const char *w)
{
    return strlen(w) == len && memcmp(p->s + pos, w, len) == 0;
}

/* Narrows [*a, *b) to its non-blank middle. */
static inline void fe_trim(const parser *p, uint32_t *a, uint32_t *b)
{
    while (*a < *b && fe_is_blank(fe_at(p, *a)))
        (*a)++;
    while (*b > *a && fe_is_blank(fe_at(p, *b - 1)))
        (*b)--;
}

/* ---------------------------------------------------------- pragma_lex.c */

/* name = ident ("." ident)*: where it ends, or pos if none starts there. */
uint32_t fe_name_end(const parser *p, uint32_t pos, uint32_t end);

/* Positions in the user's file of text[off, off+len). */
fe_loc fe_loc_of(const parser *p, uint32_t off, uint32_t len);
fe_span fe_span_of(const parser *p, uint32_t off, uint32_t len);

/* A syntax error at text[off, off+len); msg is printf-formatted. */
fe_status fe_syntax_at(parser *p, uint32_t off, uint32_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Arguments for "'%.*s%s'": user text, shortened for messages. */
#define QUOTE(p, off, len)                                                         \
    (int)((len) > QUOTE_MAX ? QUOTE_MAX : (len)), (p)->s + (off),                  \
        ((len) > QUOTE_MAX ? "..." : "")

fe_status fe_nomem(parser *p);
/* Where a one-character error at pos points: the character, or the end. */
uint32_t fe_len_at(const parser *p, uint32_t pos);

/* Keeps the closest of the candidates so far. */
typedef struct guess {
    const char *word;
    int dist;
    int dropped; /* the word is the candidate with letters dropped */
} guess;

/* Typo hints: fe_consider offers a candidate for text[off, off+len),
 * fe_unknown_word reports "unknown X 'word'" with the closest, if any. */
void fe_consider(guess *g, const parser *p, uint32_t off, uint32_t len, const char *cand);
fe_status fe_unknown_word(parser *p, uint32_t off, uint32_t len, const char *what,
                          const guess *g);

enum { STOP_COMMA = 1, STOP_COLON = 2, STOP_CLAUSE = 4 };

/* Past the string literal whose quote is at pos. */
fe_status fe_skip_string(parser *p, uint32_t pos, uint32_t end, uint32_t *after);
/* The clause named text[off, off+len) (an alternate name too), or -1. */
int fe_clause_lookup(const parser *p, uint32_t off, uint32_t len);
/* Where the expression text at pos ends (at a STOP_* or base's closer). */
fe_status fe_scan(parser *p, uint32_t pos, uint32_t end, int base, unsigned stops,
                  uint32_t *stop);
/* The ')' closing the '(' at pos. */
fe_status fe_find_close(parser *p, uint32_t pos, const char *what, uint32_t *close);
/* Is there a modifier `ident :` at pos? */
int fe_modifier_at(const parser *p, uint32_t pos, uint32_t end, uint32_t *ws, uint32_t *we,
                   uint32_t *after);
fe_status fe_bad_modifier(parser *p, uint32_t ws, uint32_t we);

/* --------------------------------------------------------------- clause.c */

/* The argument forms that a directive's own argument shares with clauses:
 * cache(...), wait(...) and routine(name). */
fe_status fe_parse_vars_with_mods(parser *p, uint32_t pos, uint32_t end, unsigned allowed,
                                  unsigned *mods);
fe_status fe_parse_wait_args(parser *p, uint32_t pos, uint32_t end, unsigned *mods);
fe_status fe_parse_name_arg(parser *p, uint32_t pos, uint32_t end, int string_ok);

/* clauses = [clause ([","] clause)*], from pos to the end of the pragma. */
fe_status fe_parse_clauses(parser *p, uint32_t pos);

#endif
