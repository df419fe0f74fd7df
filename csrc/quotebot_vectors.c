/* The word vectors' two hot loops (corpus/answering/vectors.py): byte-pair merges over symbol
 * ids, and sums of token rows.
 *
 * Splitting a word a question or candidate sentence brings for the first time is the costliest
 * step of soft matching in Python (a dictionary look-up per adjacent pair, per merge). Here the
 * same algorithm runs over integer symbol ids: repeatedly merge the adjacent pair of lowest
 * rank, the leftmost on a tie, until no pair has a merge. The merges are kept in a hash table
 * that `table` makes once, keyed by left id << 32 | right id, with each pair's rank and the
 * id of the merged symbol. A new word's vector is then the sum of its
 * tokens' rows of the (half-precision) embedding matrix, added here in single precision
 * without the gathered copy numpy makes. Optional like quotebot_bm25: without a
 * C compiler the Python paths answer, and tests/test_answer_model.py checks that both agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One merge in the hash table: the pair (left id << 32 | right id; -1 for an empty slot), its
 * rank and the merged symbol. 16 bytes, so that a look-up reads one cache line. */
typedef struct {
    int64_t key;
    int32_t rank;
    int32_t merged;
} Entry;

typedef struct {
    const Entry *entries;
    uint64_t mask; /* the table's size - 1, its size a power of two */
} Merges;

static uint64_t slot_of(int64_t key, uint64_t mask) {
    return ((uint64_t)key * 0x9E3779B97F4A7C15ull >> 17) & mask;
}

/* The merge of (left, right), or NULL. Negative ids (symbols no merge knows) never match. */
static const Entry *find(const Merges *merges, int64_t left, int64_t right) {
    if (left < 0 || right < 0) return NULL;
    int64_t key = (left << 32) | right;
    uint64_t slot = slot_of(key, merges->mask);
    for (uint64_t probe = 0; probe <= merges->mask; probe++, slot = (slot + 1) & merges->mask) {
        const Entry *entry = &merges->entries[slot];
        if (entry->key == key) return entry;
        if (entry->key < 0) return NULL;
    }
    return NULL; /* a full table (never made by table()) */
}

/* Merge one word's symbols in place; returns how many remain. `rank` and `merged` are
 * scratch of the word's length: each adjacent pair's rank and merged symbol, of which a merge
 * changes only its two neighbours'. */
/* The rank and merged symbol of the pair of symbols at i and i + 1. */
static void look_up_pair(const Merges *merges, const int64_t *symbols, Py_ssize_t i,
                         int64_t *rank, int64_t *merged) {
    const Entry *entry = find(merges, symbols[i], symbols[i + 1]);
    rank[i] = entry ? entry->rank : INT64_MAX;
    merged[i] = entry ? entry->merged : -1;
}

static Py_ssize_t merge_word(const Merges *merges, int64_t *symbols, Py_ssize_t count,
                             int64_t *rank, int64_t *merged) {
    for (Py_ssize_t i = 0; i + 1 < count; i++) look_up_pair(merges, symbols, i, rank, merged);
    while (count > 1) {
        Py_ssize_t at = -1;
        int64_t best = INT64_MAX;
        for (Py_ssize_t i = 0; i + 1 < count; i++) {
            if (rank[i] < best) { /* the lowest rank, the leftmost on a tie */
                best = rank[i];
                at = i;
            }
        }
        if (at < 0) break;
        symbols[at] = merged[at];
        for (Py_ssize_t i = at + 1; i + 1 < count; i++) {
            symbols[i] = symbols[i + 1];
            rank[i] = rank[i + 1];
            merged[i] = merged[i + 1];
        }
        count--;
        for (Py_ssize_t i = at > 0 ? at - 1 : at; i <= at && i + 1 < count; i++)
            look_up_pair(merges, symbols, i, rank, merged);
    }
    return count;
}

PyDoc_STRVAR(merge_doc,
             "merge(symbols, ends, table) -> (symbols, ends)\n--\n\n"
             "Apply the merges to each word. `symbols` (int64) holds the words' symbol ids one "
             "word after another, word i ending at ends[i] (int64); `table` is the merges' "
             "hash table from table(). Returns the merged words the same way, as bytes of "
             "int64.");

static PyObject *merge(PyObject *self, PyObject *args) {
    Py_buffer symbols, ends, table;
    if (!PyArg_ParseTuple(args, "y*y*y*", &symbols, &ends, &table)) return NULL;
    PyObject *result = NULL;
    int64_t *work = NULL, *out_ends = NULL, *rank = NULL, *merged = NULL;
    Py_ssize_t slot_count = table.len / (Py_ssize_t)sizeof(Entry);
    if (symbols.len % 8 || ends.len % 8 || table.len % sizeof(Entry) || slot_count < 2 ||
        (slot_count & (slot_count - 1))) {
        PyErr_SetString(PyExc_ValueError, "int64 symbols and ends, and a merge table, expected");
        goto done;
    }
    Merges merges = {table.buf, (uint64_t)slot_count - 1};
    Py_ssize_t symbol_count = symbols.len / 8, word_count = ends.len / 8;
    const int64_t *end = ends.buf;
    for (Py_ssize_t w = 0; w < word_count; w++) {
        if (end[w] < (w ? end[w - 1] : 0) || end[w] > symbol_count) {
            PyErr_SetString(PyExc_ValueError, "word ends out of order or out of range");
            goto done;
        }
    }
    size_t size = (size_t)(symbol_count ? symbol_count : 1) * sizeof(int64_t);
    work = malloc(size);
    rank = malloc(size);
    merged = malloc(size);
    out_ends = malloc((size_t)(word_count ? word_count : 1) * sizeof(int64_t));
    if (!work || !out_ends || !rank || !merged) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *in = symbols.buf;
    Py_ssize_t written = 0;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t start = 0;
    for (Py_ssize_t w = 0; w < word_count; w++) {
        Py_ssize_t count = end[w] - start;
        for (Py_ssize_t i = 0; i < count; i++) work[written + i] = in[start + i];
        written += merge_word(&merges, work + written, count, rank, merged);
        out_ends[w] = written;
        start = end[w];
    }
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(y#y#)", (const char *)work, (Py_ssize_t)(written * 8),
                           (const char *)out_ends, (Py_ssize_t)(word_count * 8));

done:
    free(work);
    free(out_ends);
    free(rank);
    free(merged);
    PyBuffer_Release(&symbols);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&table);
    return result;
}

PyDoc_STRVAR(table_doc,
             "table(keys, ranks, merged) -> bytes\n--\n\n"
             "The merges' hash table for merge(): key i (int64, left id << 32 | right id, "
             "non-negative) merges into merged[i] at rank ranks[i] (both int64, within 32 "
             "bits); a repeated key keeps its first merge. Its size is a power of two, at least "
             "twice the keys.");

static PyObject *make_table(PyObject *self, PyObject *args) {
    Py_buffer keys, ranks, merged;
    if (!PyArg_ParseTuple(args, "y*y*y*", &keys, &ranks, &merged)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t count = keys.len / 8;
    if (keys.len % 8 || ranks.len != keys.len || merged.len != keys.len) {
        PyErr_SetString(PyExc_ValueError, "int64 keys, ranks and merged of one length expected");
        goto done;
    }
    const int64_t *key = keys.buf, *rank = ranks.buf, *into = merged.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (key[i] < 0 || rank[i] < 0 || rank[i] > INT32_MAX || into[i] < INT32_MIN ||
            into[i] > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "a key, rank or merged symbol out of range");
            goto done;
        }
    }
    uint64_t size = 2;
    while (size < (uint64_t)count * 2) size *= 2;
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(size * sizeof(Entry)));
    if (!result) goto done;
    Entry *entries = (Entry *)PyBytes_AS_STRING(result);
    for (uint64_t i = 0; i < size; i++) entries[i] = (Entry){-1, 0, -1};
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t slot = slot_of(key[i], size - 1);
        while (entries[slot].key >= 0 && entries[slot].key != key[i]) slot = (slot + 1) & (size - 1);
        if (entries[slot].key < 0) entries[slot] = (Entry){key[i], (int32_t)rank[i], (int32_t)into[i]};
    }

done:
    PyBuffer_Release(&keys);
    PyBuffer_Release(&ranks);
    PyBuffer_Release(&merged);
    return result;
}

/* A half-precision float's value as a single-precision one (exact: every half is a float). */
static float half_to_float(uint16_t half) {
    uint32_t sign = (uint32_t)(half & 0x8000) << 16;
    uint32_t exponent = (half >> 10) & 0x1F;
    uint32_t mantissa = half & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) { /* infinity or NaN */
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) { /* normal */
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) { /* zero */
        bits = sign;
    } else { /* subnormal: normalise it */
        exponent = 113;
        while (!(mantissa & 0x400)) {
            mantissa <<= 1;
            exponent--;
        }
        bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* Every half-precision value as a float, made once when the module loads (256 kB). */
static float half_value[65536];

PyDoc_STRVAR(sums_doc,
             "sums(ids, counts, matrix, columns, itemsize) -> bytes\n--\n\n"
             "The sum of each group's rows of `matrix` (`columns` wide, float16 or float32 by "
             "`itemsize`), group g being the next counts[g] of `ids` (both int64), as float32 "
             "bytes, a row per group, the rows added in order (numpy's add.reduceat adds long "
             "groups in another order: the sums agree to float32 rounding).");

static PyObject *sums(PyObject *self, PyObject *args) {
    Py_buffer ids, counts, matrix;
    Py_ssize_t columns, itemsize;
    if (!PyArg_ParseTuple(args, "y*y*y*nn", &ids, &counts, &matrix, &columns, &itemsize))
        return NULL;
    PyObject *result = NULL;
    if (ids.len % 8 || counts.len % 8 || columns <= 0 || (itemsize != 2 && itemsize != 4) ||
        matrix.len % (columns * itemsize)) {
        PyErr_SetString(PyExc_ValueError, "int64 ids and counts, and a whole matrix, expected");
        goto done;
    }
    Py_ssize_t id_count = ids.len / 8, group_count = counts.len / 8;
    Py_ssize_t rows = matrix.len / (columns * itemsize);
    const int64_t *id = ids.buf, *count = counts.buf;
    Py_ssize_t needed = 0;
    for (Py_ssize_t g = 0; g < group_count; g++) {
        if (count[g] < 0) break;
        needed += count[g];
    }
    for (Py_ssize_t i = 0; i < id_count; i++) {
        if (id[i] < 0 || id[i] >= rows) {
            needed = -1;
            break;
        }
    }
    if (needed != id_count) {
        PyErr_SetString(PyExc_ValueError, "ids out of range, or counts that do not add up");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, group_count * columns * 4);
    if (!result) goto done;
    float *out = (float *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    const int64_t *next = id;
    for (Py_ssize_t g = 0; g < group_count; g++) {
        float *sum = out + g * columns;
        for (Py_ssize_t c = 0; c < columns; c++) sum[c] = 0.0f;
        for (int64_t k = 0; k < count[g]; k++, next++) {
            if (itemsize == 2) {
                const uint16_t *row = (const uint16_t *)matrix.buf + *next * columns;
                for (Py_ssize_t c = 0; c < columns; c++) sum[c] += half_value[row[c]];
            } else {
                const float *row = (const float *)matrix.buf + *next * columns;
                for (Py_ssize_t c = 0; c < columns; c++) sum[c] += row[c];
            }
        }
    }
    Py_END_ALLOW_THREADS

done:
    PyBuffer_Release(&ids);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&matrix);
    return result;
}

static PyMethodDef methods[] = {
    {"merge", merge, METH_VARARGS, merge_doc},
    {"table", make_table, METH_VARARGS, table_doc},
    {"sums", sums, METH_VARARGS, sums_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "quotebot_vectors",
    "Byte-pair merges and token-row sums for the word vectors (corpus/answering/vectors.py).",
    -1, methods,
};

PyMODINIT_FUNC PyInit_quotebot_vectors(void) {
    for (uint32_t half = 0; half < 65536; half++) half_value[half] = half_to_float((uint16_t)half);
    return PyModule_Create(&module);
}
