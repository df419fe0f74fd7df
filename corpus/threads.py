"""How many threads numpy's BLAS may use in this process.

Answering multiplies small matrices (a question's few dozen candidates by a few dozen
features, or by 256 or 384 dimensions). OpenBLAS starts its threads for them anyway, and on a
busy machine they fight the bot's own threads for the cores. At a million passages, with one
of this machine's two cores kept busy by another program, new questions took 23–24 ms median
(p99 60 ms) with two BLAS threads and 14–16 ms (p99 24–43 ms) with one; on the quiet machine
the two were within noise (`bench/scale.py --answer-sizes 1000000`). The application sets this
once, where it is composed (bot/cli/main.py, from the `BLAS_THREADS` setting); a program that
uses `corpus` as a library keeps whatever numpy does by default unless it calls this.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

__all__ = ["limit_blas_threads"]


def limit_blas_threads(threads: int) -> None:
    """At most `threads` BLAS threads from now on, for every BLAS library numpy loaded."""
    threadpool_limits(limits=threads, user_api="blas")
