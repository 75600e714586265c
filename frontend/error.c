/* error.c - fills fe_error values.  Nothing here prints: the Python
 * boundary turns an fe_error into an exception.
 */
#include "fe.h"

#include <stdarg.h>
#include <stdio.h>

fe_status fe_error_set(fe_error *err, fe_status st, fe_loc loc, const char *fmt, ...)
{
    /* A caller that does not want the details may pass no error. */
    if (!err)
        return st;
    err->status = st;
    err->loc = loc;
    err->file[0] = '\0';
    err->msg[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}
