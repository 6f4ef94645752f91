"""A Merkle tree over the trail, as Certificate Transparency builds one (RFC 9162 section 2.1), pure.

Why a Merkle tree, and not only the hash chain signed at its head
-------------------------------------------------------------------
The hash chain (:mod:`audit.chain`) already detects any change to an event *if the verifier holds a
trusted head*. Signing the chain head in each checkpoint would catch a rewrite too, but it gives
nothing smaller than the whole trail to prove one event: to show a client's privacy officer that one
event is in the sealed trail, every event between it and the head would have to be handed over, and
those events are other clients' and other parties'. A Merkle tree over the same events gives:

* an **inclusion proof** of one event in a checkpoint: ``log2(n)`` hashes, nothing of other events;
* a **consistency proof** between two checkpoints: that the later tree extends the earlier one
  unchanged, so a witness holding only checkpoints (no events) sees a rewritten history;
* the same well-reviewed construction as CT and transparency logs (Sigstore Rekor, Go sumdb), with
  RFC 9162's verification algorithms, rather than something of our own.

The leaves are the events' chain hashes in ``seq`` order (leaf ``i`` is event ``seq = i + 1``). A
chain hash covers the event's content, its position and its predecessor, so the tree covers exactly
what the chain does; the chain stays the cheap per-append link, the tree is built only when sealing.

Domain separation as RFC 9162 section 2.1.1: a leaf is ``SHA-256(0x00 || data)``, an interior node
``SHA-256(0x01 || left || right)``; the empty tree's hash is ``SHA-256()``.

:class:`Frontier` appends leaves one by one and keeps only the roots of the perfect subtrees on the
right edge (at most ``log2(n)`` hashes), so sealing reads only the events since the last checkpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _root_of_hashes(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(_root_of_hashes(leaves[:k]), _root_of_hashes(leaves[k:]))


def root(data: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 section 2.1.1 over the leaf data ``data``."""
    return _root_of_hashes([leaf_hash(item) for item in data])


def inclusion_proof(data: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1: the audit path of leaf ``index`` in ``data``."""
    if not 0 <= index < len(data):
        raise ValueError("leaf index outside the tree")
    return _path(index, [leaf_hash(item) for item in data])


def _path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, leaves[:k]) + [_root_of_hashes(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_root_of_hashes(leaves[:k])]


def consistency_proof(data: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 section 2.1.4.1: that the first ``old_size`` leaves are unchanged."""
    if not 0 < old_size <= len(data):
        raise ValueError("old tree size must be between 1 and the tree's size")
    return _subproof(old_size, [leaf_hash(item) for item in data], True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_root_of_hashes(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], complete) + [_root_of_hashes(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [_root_of_hashes(leaves[:k])]


def _proof_ranges(m: int, lo: int, hi: int, complete: bool) -> list[tuple[int, int]]:
    """The leaf ranges whose roots make PROOF(m, D[lo:hi]), in the proof's order (as :func:`_subproof`)."""
    n = hi - lo
    if m == n:
        return [] if complete else [(lo, hi)]
    k = _split(n)
    if m <= k:
        return _proof_ranges(m, lo, lo + k, complete) + [(lo + k, hi)]
    return _proof_ranges(m - k, lo + k, hi, False) + [(lo, lo + k)]


def consistency_proof_after(old: "Frontier", new_size: int, later: Iterable[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) from the old tree's frontier and the leaf data after it, without the leaves before.

    Every node of the proof lies either wholly inside the old tree, and is then one of the perfect
    subtrees its frontier keeps, or wholly after it; so ``later`` (leaves ``m`` to ``n - 1``, in order,
    consumed as a stream) is all that is read. Equal to :func:`consistency_proof` when ``old`` is the
    frontier of the same leaves (tested).
    """
    m = old.size
    if not 0 < m <= new_size:
        raise ValueError("old tree size must be between 1 and the tree's size")
    kept, start = {}, 0
    for height, node in zip((b for b in range(m.bit_length() - 1, -1, -1) if m >> b & 1), old.hashes):
        kept[(start, start + (1 << height))] = node
        start += 1 << height
    ranges = _proof_ranges(m, 0, new_size, True)
    after = sorted(r for r in ranges if r not in kept)
    if [lo for lo, _ in after] != ([m] + [hi for _, hi in after[:-1]] if after else []):
        raise AssertionError("the proof's nodes after the old tree do not tile it")  # cannot happen
    roots, leaves, index = {}, iter(later), m
    for lo, hi in after:
        subtree = Frontier()
        for _ in range(hi - lo):
            data = next(leaves, None)
            if data is None:
                raise ValueError(f"leaf {index} is missing")
            subtree.append(data)
            index += 1
        roots[(lo, hi)] = subtree.root()
    return [kept.get(r) or roots[r] for r in ranges]


def verify_inclusion(data: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` put leaf data ``data`` at ``index`` of the tree ``expected_root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(data)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: does the tree ``new_root`` extend the tree ``old_root`` unchanged?"""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


@dataclass
class Frontier:
    """The right edge of a tree: the roots of its perfect subtrees, largest (leftmost) first.

    Enough to append leaves and to compute the root, without the leaves before; ``size`` leaves have
    been appended. Subtree ``i`` holds ``2**h`` leaves where ``h`` is the ``i``-th set bit of ``size``
    from the top.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, data: bytes) -> None:
        node = leaf_hash(data)
        size = self.size
        # Merge with equal-sized subtrees on the right, as a binary counter carries.
        while size & 1:
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
        self.hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = node_hash(left, node)
        return node

    def copy(self) -> "Frontier":
        return Frontier(self.size, list(self.hashes))

    def as_json(self) -> list[str]:
        return [h.hex() for h in self.hashes]

    @classmethod
    def from_json(cls, size: int, hashes: Sequence[str]) -> "Frontier":
        frontier = cls(size, [bytes.fromhex(h) for h in hashes])
        if len(frontier.hashes) != size.bit_count():
            raise ValueError("a frontier holds one hash per set bit of its size")
        return frontier
