/* Finding a line of WordNet's sorted database files by its first field (corpus/answering/
 * lexicon.py), compiled: a new question word takes tens of look-ups, each a binary search over
 * a mapped file, and in Python each step slices and splits a line. Optional like the other
 * kernels: without a C compiler the Python search answers, and tests/test_lexicon.py checks
 * that both find the same lines.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Compare `key` with the first field of the line [start, end) (the field ends at a space). */
static int compare(const char *key, Py_ssize_t key_length, const char *line, Py_ssize_t length) {
    Py_ssize_t field = 0;
    while (field < length && line[field] != ' ') field++;
    Py_ssize_t common = key_length < field ? key_length : field;
    int order = memcmp(key, line, (size_t)common);
    if (order) return order;
    return key_length < field ? -1 : key_length > field ? 1 : 0;
}

static Py_ssize_t line_start(const char *text, Py_ssize_t low, Py_ssize_t at) {
    while (at > low && text[at - 1] != '\n') at--;
    return at;
}

static Py_ssize_t line_end(const char *text, Py_ssize_t at, Py_ssize_t size) {
    const char *found = memchr(text + at, '\n', (size_t)(size - at));
    return found ? found - text : size;
}

PyDoc_STRVAR(find_doc,
             "find(text, key) -> (start, end) or None\n--\n\n"
             "The span of the line of `text` (lines sorted by their first field, which ends at "
             "a space) whose first field is `key`, found by binary search over the bytes, as "
             "corpus/answering/lexicon.py's _find_line does.");

static PyObject *find(PyObject *self, PyObject *args) {
    Py_buffer text, key;
    if (!PyArg_ParseTuple(args, "y*y*", &text, &key)) return NULL;
    const char *bytes = text.buf;
    Py_ssize_t low = 0, high = text.len, start = -1, end = -1;
    Py_BEGIN_ALLOW_THREADS
    while (low < high) {
        Py_ssize_t middle = (low + high) / 2;
        Py_ssize_t from = line_start(bytes, low, middle);
        Py_ssize_t to = line_end(bytes, from, text.len);
        int order = compare(key.buf, key.len, bytes + from, to - from);
        if (order == 0) {
            start = from;
            end = to;
            break;
        }
        if (order < 0)
            high = from;
        else
            low = to + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&text);
    PyBuffer_Release(&key);
    if (start < 0) Py_RETURN_NONE;
    return Py_BuildValue("(nn)", start, end);
}

static PyMethodDef methods[] = {
    {"find", find, METH_VARARGS, find_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "quotebot_lexicon",
    "Finding a line of a sorted file by its first field (see corpus/answering/lexicon.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit_quotebot_lexicon(void) { return PyModule_Create(&module); }
