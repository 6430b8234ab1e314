"""EASE (Steck 2019): the closed-form item-item model behind the hybrid recommender's collab terms.

EASE learns ``B = I - P diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹`` from the users x items 0/1
matrix ``X``; a user's scores are ``x_u B`` (B has a zero diagonal, so an item never votes for
itself). ``P`` is items x items, so when there are fewer users than items it is cheaper to use the
Woodbury identity ``P = (I - Xᵀ(XXᵀ + λI)⁻¹X) / λ`` and never form it: the "dual" form costs
O(users² · items) instead of O(items³) and gives the same scores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve, lapack
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)

MAX_CELLS = 60_000_000  # dense cells EASE may hold: min(users, items) x items
# Factorisations up to this size run on one BLAS thread: threads gain little there, and on a busy
# machine their spin-waiting made a 610 x 610 Cholesky take 1.5 s instead of 0.02 s.
SINGLE_THREAD_SIZE = 2048


def ease_weights(matrix: sp.spmatrix, *, l2: float = 500.0) -> tuple[np.ndarray, np.ndarray]:
    """Return EASE's ``B`` over the items with any interaction (the "primal" form).

    ``P`` is computed in float32 through a Cholesky factorisation (about 4x faster than a float64
    ``inv``; the ranking is unchanged at λ = 500).

    Returns:
        The fitted item indices and ``B`` over them (zero diagonal).
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    active = np.flatnonzero(matrix.getnnz(axis=0) > 0)
    x = matrix[:, active]
    gram = np.asarray((x.T @ x).toarray(), dtype=np.float32)
    gram[np.diag_indices_from(gram)] += l2
    factor, info = lapack.spotrf(gram, lower=False, overwrite_a=True)
    precision, info2 = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info or info2:
        raise np.linalg.LinAlgError(f"EASE Gram matrix is not positive definite ({info}, {info2})")
    _mirror_upper(precision)
    precision /= -np.diag(precision)
    precision[np.diag_indices_from(precision)] = 0.0
    return active, precision


def _mirror_upper(square: np.ndarray, block: int = 1024) -> None:
    """Copy the upper triangle of ``square`` onto its lower one, in place, a block at a time."""
    for start in range(0, len(square), block):
        stop = min(start + block, len(square))
        corner = square[start:stop, start:stop]
        square[start:stop, start:stop] = np.triu(corner) + np.triu(corner, 1).T
        square[stop:, start:stop] = square[start:stop, stop:].T


@dataclass(frozen=True)
class EaseModel:
    """A fitted EASE model in primal (``weights`` = B) or dual (``dual_x``, ``kinv_x``) form.

    Args:
        n_items: Columns of the matrix it was fitted on; scores cover all of them.
        items: The fitted item columns (others always score 0).
        l2: The ridge strength λ.
        weights: Primal form: B over ``items``.
        dual_x: Dual form: the training matrix over ``items`` (users x items, CSC).
        kinv_x: Dual form: ``(XXᵀ + λI)⁻¹ X`` (users x items, dense float32).
        diag_p: Dual form: the diagonal of ``P``.
    """

    n_items: int
    items: np.ndarray
    l2: float
    weights: np.ndarray | None = None
    dual_x: sp.csc_matrix | None = None
    kinv_x: np.ndarray | None = None
    diag_p: np.ndarray | None = None

    def scores(self, rows: sp.spmatrix, *, fitted: np.ndarray | None = None) -> np.ndarray:
        """Return ``x_u B`` for each row of ``rows`` (users x all items, 0/1), float32.

        ``fitted`` may give each row's index in the fitted matrix (-1: a new row); the dual form
        then reads ``x_u P`` off ``kinv_x`` instead of computing it, since for a fitted row
        ``x_u (I - Xᵀ(XXᵀ + λI)⁻¹X) / λ`` is row u of ``(XXᵀ + λI)⁻¹X``.
        """
        x = sp.csr_matrix(rows, dtype=np.float32)[:, self.items]
        out = np.zeros((x.shape[0], self.n_items), dtype=np.float32)
        if self.weights is not None:
            out[:, self.items] = x @ self.weights
            return out
        is_new = np.ones(x.shape[0], bool) if fitted is None else np.asarray(fitted) < 0
        xp = np.empty((x.shape[0], len(self.items)), dtype=np.float32)
        if (~is_new).any():
            xp[~is_new] = self.kinv_x[np.asarray(fitted)[~is_new]]
        if is_new.any():
            new = x[is_new]
            xp[is_new] = (new.toarray() - (new @ self.dual_x.T).toarray() @ self.kinv_x) / self.l2
        out[:, self.items] = x.toarray() - xp / self.diag_p
        return out

    def weights_between(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Return ``B[source, target]`` for each source item (a row) and target item (a column).

        Zero where the source or the target was not fitted, and where they are the same item.
        """
        sources, targets = np.asarray(sources, dtype=int), np.asarray(targets, dtype=int)
        (rows, is_row), (cols, is_col) = self._positions(sources), self._positions(targets)
        out = np.zeros((len(sources), len(targets)), dtype=np.float32)
        rows, cols = rows[is_row], cols[is_col]
        if not len(rows) or not len(cols):
            return out
        if self.weights is not None:
            block = self.weights[np.ix_(rows, cols)]
        else:  # off the diagonal, B = -P / diag(P) with P = -Xᵀ(XXᵀ + λI)⁻¹X / λ
            block = (self.dual_x[:, rows].T @ self.kinv_x[:, cols]) / self.l2
            block /= self.diag_p[cols]
        out[np.ix_(is_row, is_col)] = block
        out[sources[:, None] == targets[None, :]] = 0.0
        return out

    def _positions(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each item's position among the fitted ``items`` and whether it is fitted."""
        if not len(self.items):
            return np.zeros(len(items), dtype=int), np.zeros(len(items), dtype=bool)
        positions = np.minimum(np.searchsorted(self.items, items), len(self.items) - 1)
        return positions, self.items[positions] == items


def fit_ease(matrix: sp.spmatrix, *, l2: float = 500.0, max_cells: int = MAX_CELLS) -> EaseModel:
    """Fit EASE on a users x items 0/1 matrix, in whichever form is cheaper.

    Only items with interactions are fitted. When ``min(users, items) x items`` would exceed
    ``max_cells``, only the most-interacted items that fit are kept (and the choice is logged).
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    counts = matrix.getnnz(axis=0)
    items = np.flatnonzero(counts > 0)
    n_users = matrix.shape[0]
    if min(n_users, len(items)) * len(items) > max_cells:
        keep = _items_that_fit(n_users, max_cells)
        items = np.sort(items[np.argsort(-counts[items], kind="stable")[:keep]])
        logger.info("EASE limited to the %d most-interacted items (memory cap)", keep)
    x = matrix[:, items]
    threads = 1 if min(n_users, len(items)) <= SINGLE_THREAD_SIZE else None
    if n_users >= len(items):
        with threadpool_limits(limits=threads, user_api="blas"):
            active, weights = ease_weights(x, l2=l2)
        return EaseModel(matrix.shape[1], items[active], l2, weights=weights)
    x = sp.csr_matrix(x, dtype=np.float32)
    gram = (x @ x.T).toarray()
    gram[np.diag_indices_from(gram)] += l2
    with threadpool_limits(limits=threads, user_api="blas"):
        kinv_x = cho_solve(cho_factor(gram), x.toarray())
    diag_p = (1.0 - np.asarray(x.multiply(kinv_x).sum(axis=0)).ravel()) / l2
    return EaseModel(matrix.shape[1], items, l2, dual_x=x.tocsc(), kinv_x=kinv_x,
                     diag_p=diag_p.astype(np.float32))


def _items_that_fit(n_users: int, max_cells: int) -> int:
    """Return the most items ``n`` with ``min(n_users, n) * n <= max_cells``."""
    square = int(np.sqrt(max_cells))
    return square if square <= n_users else max(1, max_cells // max(n_users, 1))
