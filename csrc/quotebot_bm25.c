/* BM25 top-k over compressed postings, compiled, with rank-bm25's floats.
 *
 * corpus/indexing/bm25.py keeps the postings in numpy arrays and scores them with numpy, a
 * term at a time over every posting of every query term. This module scores a passage at a
 * time with exact dynamic pruning (MaxScore, Turtle and Flood 1995): the postings of common
 * words are only looked into at passages that rarer words make candidates, once the best
 * `limit` so far show that common words alone cannot compete. It is optional: the
 * package builds it when a C compiler is present (`pip install .`), and falls back to the numpy
 * path otherwise; tests/test_bm25.py checks both against rank-bm25.
 *
 * The scores equal rank-bm25's bit for bit because every term's part is the same expression,
 * evaluated in the same order, in IEEE double precision:
 *     idf[t] * ((f * (k1 + 1)) / (f + saturation[p]))
 * and each passage's total adds the query's terms in query order, starting from 0.0. The build
 * turns off floating-point contraction (no fused multiply-add), which would change the last bit.
 *
 * The arrays arrive through the buffer protocol and are only read; nothing is kept between
 * calls, so threads may ask at once. The GIL is released while scoring.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t position;
    double score;
} Hit;

/* a ranks below b: a lower score, or the same score further on in the corpus. */
static int worse(const Hit *a, const Hit *b) {
    return a->score < b->score || (a->score == b->score && a->position > b->position);
}

/* A min-heap of the best hits so far, its worst hit on top. */
static void sift_down(Hit *heap, Py_ssize_t size, Py_ssize_t i) {
    for (;;) {
        Py_ssize_t left = 2 * i + 1, right = left + 1, smallest = i;
        if (left < size && worse(&heap[left], &heap[smallest])) smallest = left;
        if (right < size && worse(&heap[right], &heap[smallest])) smallest = right;
        if (smallest == i) return;
        Hit swap = heap[i];
        heap[i] = heap[smallest];
        heap[smallest] = swap;
        i = smallest;
    }
}

static void sift_up(Hit *heap, Py_ssize_t i) {
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!worse(&heap[i], &heap[parent])) return;
        Hit swap = heap[i];
        heap[i] = heap[parent];
        heap[parent] = swap;
        i = parent;
    }
}

static int by_rank(const void *a, const void *b) {
    const Hit *x = a, *y = b;
    if (worse(x, y)) return 1;
    if (worse(y, x)) return -1;
    return 0;
}

static int check_size(Py_buffer *buffer, Py_ssize_t itemsize, const char *name) {
    if (buffer->len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes is not a whole number of items", name,
                     buffer->len);
        return -1;
    }
    return 0;
}

/* The postings of one query term, as a cursor for document-at-a-time scoring. */
typedef struct {
    int64_t id;        /* the term */
    int64_t at, end;   /* the cursor and the end of the term's postings */
    int64_t doc;       /* the passage under the cursor; INT64_MAX past the end */
    double weight;     /* the term's IDF */
    double bound;      /* the most it adds to a passage, repeats included, never below 0 */
    double part;       /* what it adds to the passage being scored (0 if absent there) */
    double repeats;    /* how many times the query holds it */
} Term;

typedef struct {
    const int32_t *passage;
    const uint16_t *narrow;
    const int32_t *wide;
    const double *length_part;
    double k1_plus_1;
} Postings;

static double part_of(const Postings *postings, const Term *term, int32_t p) {
    int64_t i = term->at;
    double f = postings->wide ? (double)postings->wide[i] : (double)postings->narrow[i];
    return term->weight * ((f * postings->k1_plus_1) / (f + postings->length_part[p]));
}

/* Move the cursor to the first posting at passage `target` or later (a galloping search:
 * the postings of a term are in passage order). */
static void seek(const Postings *postings, Term *term, int32_t target) {
    const int32_t *passage = postings->passage;
    int64_t low = term->at, step = 1;
    if (low >= term->end || passage[low] >= target) return;
    int64_t high = low + step;
    while (high < term->end && passage[high] < target) {
        low = high;
        step *= 2;
        high = low + step;
    }
    if (high > term->end) high = term->end;
    /* passage[low] < target; the answer lies in (low, high] */
    while (low + 1 < high) {
        int64_t middle = low + (high - low) / 2;
        if (passage[middle] < target)
            low = middle;
        else
            high = middle;
    }
    term->at = high;
}

/* The passage under the cursor, kept beside it so that the loops below read one field. */
static void settle(const Postings *postings, Term *term) {
    term->doc = term->at < term->end ? postings->passage[term->at] : INT64_MAX;
}

/* A bound that rounding cannot undercut: the exact score is summed in another order than the
 * bound, and may differ from it in the last bits. */
static double with_slack(double bound) { return bound + 1e-9 * (1.0 + fabs(bound)); }

PyDoc_STRVAR(top_doc,
             "top(pointers, passages, frequencies, idf, saturation, k1, terms, bounds, limit, "
             "low, high)\n--\n\n"
             "The best `limit` passages in [low, high) for these term ids (query order, repeats "
             "kept) as a list of (position, score), best first, ties in position order.\n"
             "pointers int64, passages int32, frequencies uint16 or int32 (told apart by size), "
             "idf, saturation and bounds (each term's largest part of a score) float64, terms "
             "int64.\n\n"
             "Exact dynamic pruning (MaxScore): passages are scored one at a time in position "
             "order; once `limit` are kept, the terms whose bounds together cannot lift a "
             "passage past the worst kept one only complete the scores of passages found "
             "through the other terms. Each score is then summed in query order, as rank-bm25 "
             "does, so it equals rank-bm25's bit for bit.");

static PyObject *top(PyObject *self, PyObject *args) {
    Py_buffer pointers, passages, frequencies, idf, saturation, terms, bounds;
    double k1;
    Py_ssize_t limit, low, high;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*dy*y*nnn", &pointers, &passages, &frequencies, &idf,
                          &saturation, &k1, &terms, &bounds, &limit, &low, &high))
        return NULL;
    PyObject *result = NULL;
    Hit *heap = NULL;
    Term *term = NULL;
    Py_ssize_t *slot = NULL;
    double *prefix = NULL;

    if (check_size(&pointers, 8, "pointers") || check_size(&passages, 4, "passages") ||
        check_size(&idf, 8, "idf") || check_size(&saturation, 8, "saturation") ||
        check_size(&terms, 8, "terms") || check_size(&bounds, 8, "bounds"))
        goto done;
    Py_ssize_t posting_count = passages.len / 4;
    Py_ssize_t passage_count = saturation.len / 8;
    Py_ssize_t term_count = idf.len / 8;
    int wide;
    if (frequencies.len == posting_count * 2) {
        wide = 0;
    } else if (frequencies.len == posting_count * 4) {
        wide = 1;
    } else {
        PyErr_SetString(PyExc_ValueError, "frequencies and passages differ in length");
        goto done;
    }
    if (pointers.len / 8 != term_count + 1 || bounds.len / 8 != term_count) {
        PyErr_SetString(PyExc_ValueError, "array lengths do not agree");
        goto done;
    }
    const int64_t *pointer = pointers.buf;
    const int64_t *asked = terms.buf;
    const double *term_idf = idf.buf, *term_bound = bounds.buf;
    Py_ssize_t query_length = terms.len / 8;
    if (limit < 0) limit = 0;
    if (low < 0) low = 0;
    if (high > passage_count) high = passage_count;
    /* Distinct terms (a repeat adds its part again: its bound grows, its cursor is shared). */
    term = calloc((size_t)(query_length ? query_length : 1), sizeof(Term));
    slot = malloc((size_t)(query_length ? query_length : 1) * sizeof(Py_ssize_t));
    prefix = malloc((size_t)(query_length + 1) * sizeof(double));
    heap = malloc((size_t)(limit ? limit : 1) * sizeof(Hit));
    if (!term || !slot || !prefix || !heap) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t distinct = 0;
    for (Py_ssize_t q = 0; q < query_length; q++) {
        int64_t t = asked[q];
        /* Check every index before letting go of the GIL: a damaged index raises, never
         * reads out of bounds. */
        if (t < 0 || t >= term_count || pointer[t] < 0 || pointer[t] > pointer[t + 1] ||
            pointer[t + 1] > posting_count) {
            PyErr_SetString(PyExc_ValueError, "a term's postings are out of range");
            goto done;
        }
        Py_ssize_t j = 0;
        while (j < distinct && term[j].id != t) j++;
        if (j == distinct) {
            term[j].id = t;
            term[j].at = pointer[t];
            term[j].end = pointer[t + 1];
            term[j].weight = term_idf[t];
            term[j].bound = 0.0;
            term[j].repeats = 0.0;
            distinct++;
        }
        term[j].bound += term_bound[t] > 0 ? term_bound[t] : 0.0;
        term[j].repeats += 1.0;
        slot[q] = j;
    }
    /* Order the distinct terms by bound, smallest first (insertion sort: a handful), keeping
     * the slots of the query's terms pointing at them. */
    for (Py_ssize_t i = 1; i < distinct; i++) {
        for (Py_ssize_t j = i; j > 0 && term[j].bound < term[j - 1].bound; j--) {
            Term swap = term[j];
            term[j] = term[j - 1];
            term[j - 1] = swap;
            for (Py_ssize_t q = 0; q < query_length; q++) {
                if (slot[q] == j)
                    slot[q] = j - 1;
                else if (slot[q] == j - 1)
                    slot[q] = j;
            }
        }
    }
    prefix[0] = 0.0;
    for (Py_ssize_t i = 0; i < distinct; i++) prefix[i + 1] = prefix[i] + term[i].bound;

    Postings postings = {passages.buf, frequencies.buf, frequencies.buf, saturation.buf, k1 + 1};
    if (wide)
        postings.narrow = NULL;
    else
        postings.wide = NULL;
    Py_ssize_t kept = 0;
    int out_of_range = 0;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < distinct; i++) {
        seek(&postings, &term[i], (int32_t)low);
        settle(&postings, &term[i]);
    }
    /* Terms below `essential` cannot lift a passage into the kept ones on their own. */
    Py_ssize_t essential = 0;
    while (limit > 0 && essential < distinct) {
        /* The next passage: the smallest under an essential term's cursor. */
        int64_t next = INT64_MAX;
        for (Py_ssize_t i = essential; i < distinct; i++)
            if (term[i].doc < next) next = term[i].doc;
        if (next == INT64_MAX) break;
        if (next < 0 || next >= passage_count) {
            out_of_range = 1;
            break;
        }
        if (next >= high) break;
        int32_t p = (int32_t)next;
        double threshold = kept == limit ? heap[0].score : -INFINITY;
        double found = 0.0; /* the parts found so far, repeats counted, in bound order */
        for (Py_ssize_t i = essential; i < distinct; i++) {
            term[i].part = 0.0;
            if (term[i].doc == p) {
                term[i].part = part_of(&postings, &term[i], p);
                found += term[i].part * term[i].repeats;
                term[i].at++;
                settle(&postings, &term[i]);
            }
        }
        /* Complete the score from the other terms, likeliest first, while it can still win. */
        int hopeless = 0;
        for (Py_ssize_t i = essential - 1; i >= 0; i--) {
            term[i].part = 0.0;
            if (kept == limit && with_slack(found + prefix[i + 1]) <= threshold) {
                hopeless = 1;
                break;
            }
            if (term[i].doc < p) {
                seek(&postings, &term[i], p);
                settle(&postings, &term[i]);
            }
            if (term[i].doc == p) {
                term[i].part = part_of(&postings, &term[i], p);
                found += term[i].part * term[i].repeats;
            }
        }
        if (hopeless) continue;
        /* The score as rank-bm25 sums it: the query's terms in order, from 0. */
        double score = 0.0;
        for (Py_ssize_t q = 0; q < query_length; q++) score += term[slot[q]].part;
        Hit hit = {p, score};
        if (kept < limit) {
            heap[kept] = hit;
            sift_up(heap, kept++);
        } else if (worse(&heap[0], &hit)) {
            heap[0] = hit;
            sift_down(heap, kept, 0);
        } else {
            continue;
        }
        if (kept == limit) {
            while (essential < distinct && with_slack(prefix[essential + 1]) <= heap[0].score)
                essential++;
        }
    }
    qsort(heap, (size_t)kept, sizeof(Hit), by_rank);
    Py_END_ALLOW_THREADS

    if (out_of_range) {
        PyErr_SetString(PyExc_ValueError, "a posting names a passage out of range");
        goto done;
    }
    result = PyList_New(kept);
    if (!result) goto done;
    for (Py_ssize_t i = 0; i < kept; i++) {
        PyObject *pair = Py_BuildValue("(id)", (int)heap[i].position, heap[i].score);
        if (!pair) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, i, pair);
    }

done:
    free(term);
    free(slot);
    free(prefix);
    free(heap);
    PyBuffer_Release(&pointers);
    PyBuffer_Release(&passages);
    PyBuffer_Release(&frequencies);
    PyBuffer_Release(&idf);
    PyBuffer_Release(&saturation);
    PyBuffer_Release(&terms);
    PyBuffer_Release(&bounds);
    return result;
}

PyDoc_STRVAR(bounds_doc,
             "bounds(pointers, passages, frequencies, idf, saturation, k1)\n--\n\n"
             "Each term's largest part of a passage's score (float64 bytes, one per term), "
             "for top()'s pruning.");

static PyObject *term_bounds(PyObject *self, PyObject *args) {
    Py_buffer pointers, passages, frequencies, idf, saturation;
    double k1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*d", &pointers, &passages, &frequencies, &idf,
                          &saturation, &k1))
        return NULL;
    PyObject *result = NULL;
    if (check_size(&pointers, 8, "pointers") || check_size(&passages, 4, "passages") ||
        check_size(&idf, 8, "idf") || check_size(&saturation, 8, "saturation"))
        goto done;
    Py_ssize_t posting_count = passages.len / 4;
    Py_ssize_t passage_count = saturation.len / 8;
    Py_ssize_t term_count = idf.len / 8;
    int wide = frequencies.len == posting_count * 4;
    if ((!wide && frequencies.len != posting_count * 2) || pointers.len / 8 != term_count + 1) {
        PyErr_SetString(PyExc_ValueError, "array lengths do not agree");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, term_count * 8);
    if (!result) goto done;
    double *out = (double *)PyBytes_AS_STRING(result);
    const int64_t *pointer = pointers.buf;
    const int32_t *passage = passages.buf;
    Postings postings = {passages.buf, wide ? NULL : frequencies.buf,
                         wide ? frequencies.buf : NULL, saturation.buf, k1 + 1};
    int damaged = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < term_count && !damaged; t++) {
        Term term = {.id = t, .weight = ((const double *)idf.buf)[t], .repeats = 1.0};
        double best = -INFINITY;
        if (pointer[t] < 0 || pointer[t] > pointer[t + 1] || pointer[t + 1] > posting_count) {
            damaged = 1;
            break;
        }
        for (term.at = pointer[t]; term.at < pointer[t + 1]; term.at++) {
            int32_t p = passage[term.at];
            if (p < 0 || p >= passage_count) {
                damaged = 1;
                break;
            }
            double part = part_of(&postings, &term, p);
            if (part > best) best = part;
        }
        out[t] = best;
    }
    Py_END_ALLOW_THREADS
    if (damaged) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "a term's postings are out of range");
    }

done:
    PyBuffer_Release(&pointers);
    PyBuffer_Release(&passages);
    PyBuffer_Release(&frequencies);
    PyBuffer_Release(&idf);
    PyBuffer_Release(&saturation);
    return result;
}

static PyMethodDef methods[] = {
    {"top", top, METH_VARARGS, top_doc},
    {"bounds", term_bounds, METH_VARARGS, bounds_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "quotebot_bm25",
    "BM25 top-k over compressed postings in one compiled pass (see corpus/indexing/bm25.py).",
    -1, methods,
};

PyMODINIT_FUNC PyInit_quotebot_bm25(void) { return PyModule_Create(&module); }
