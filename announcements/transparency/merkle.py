"""Merkle tree hashing, inclusion and consistency proofs as defined in RFC 9162 (CT v2), §2.1.

Pure functions over bytes: no Django, no database. `log_services` feeds them the leaves stored in
`LogEntry`; `tools/verify_log.py` carries its own copy (it must run without the project).

Definitions (RFC 9162 §2.1.1), for a list of leaves D[n]:
- MTH({})   = SHA-256()
- MTH({d0}) = SHA-256(0x00 || d0)
- MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two < n.

The functions below take *leaf hashes* (SHA-256(0x00 || leaf)), not leaves, so that the server
does not have to keep every leaf in memory twice; `leaf_hash()` makes one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or a request for a proof that cannot exist."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(hashes: Sequence[bytes]) -> bytes:
    """MTH over the leaves whose leaf hashes are `hashes`."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(root_hash(hashes[:k]), root_hash(hashes[k:]))


def inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1 for leaf `index` in the tree of `hashes`."""
    n = len(hashes)
    if not 0 <= index < n:
        raise ProofError(f"leaf index {index} is outside a tree of size {n}")
    return _path(index, hashes)


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, hashes[:k]), root_hash(hashes[k:])]
    return [*_path(m - k, hashes[k:]), root_hash(hashes[:k])]


def consistency_proof(first: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: tree `first` is a prefix of the tree of `hashes`.

    Sizes 0 and n give an empty proof (every tree extends the empty one and itself).
    """
    n = len(hashes)
    if not 0 <= first <= n:
        raise ProofError(f"size {first} is not between 0 and {n}")
    if first in (0, n):
        return []
    return _subproof(first, hashes, True)


def _subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [root_hash(hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, hashes[:k], complete), root_hash(hashes[k:])]
    return [*_subproof(m - k, hashes[k:], False), root_hash(hashes[:k])]


def verify_inclusion(
    leaf_hash_: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; raises ProofError unless the proof holds."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn = index, size - 1
    r = leaf_hash_
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2; raises ProofError unless tree `first` is a prefix of tree `second`."""
    if not 0 <= first <= second:
        raise ProofError(f"size {first} is not between 0 and {second}")
    if first == second:
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("two different root hashes for the same tree size")
        return
    if first == 0:
        # Every tree extends the empty tree; RFC 9162 defines no proof for it.
        if proof:
            raise ProofError("consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        # A complete subtree: its root is the first node and the proof leaves it out.
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != first_root:
        raise ProofError("consistency proof does not lead to the old root hash")
    if sr != second_root:
        raise ProofError("consistency proof does not lead to the new root hash")


# --- Compact ranges: appending in O(log n) -------------------------------------------------
#
# The tree of n leaves is the left-to-right sequence of perfect subtrees given by the binary
# digits of n (n = 6: the subtrees of leaves 0-3 and 4-5). Their roots, largest first, are the
# tree's *compact range*: at most log2(n) + 1 hashes from which the root follows (the right
# fold below is exactly MTH's split at the largest power of two) and to which a leaf is added
# by merging equal-sized subtrees, like a carry in binary addition. The server keeps the range
# with each checkpoint so that appending never reads the leaves (docs/transparency.md).


def compact_range(hashes: Sequence[bytes]) -> list[bytes]:
    """The compact range of the tree whose leaf hashes are `hashes` (reads every leaf)."""
    nodes: list[bytes] = []
    start, n = 0, len(hashes)
    for bit in reversed(range(n.bit_length())):
        if n >> bit & 1:
            nodes.append(root_hash(hashes[start:start + (1 << bit)]))
            start += 1 << bit
    return nodes


def range_append(nodes: Sequence[bytes], size: int, leaf_hash_: bytes) -> list[bytes]:
    """The compact range of size + 1 leaves from that of `size` leaves and the new leaf hash."""
    if len(nodes) != size.bit_count():
        raise ProofError(f"a compact range of size {size} has {size.bit_count()} hashes")
    merged = [*nodes, leaf_hash_]
    while size & 1:  # each trailing one bit: two subtrees of equal size become one
        right, left = merged.pop(), merged.pop()
        merged.append(node_hash(left, right))
        size >>= 1
    return merged


def range_root(nodes: Sequence[bytes]) -> bytes:
    """MTH of the tree whose compact range is `nodes`."""
    if not nodes:
        return EMPTY_ROOT
    root = nodes[-1]
    for node in reversed(nodes[:-1]):
        root = node_hash(node, root)
    return root


def pack_range(nodes: Sequence[bytes]) -> bytes:
    return b"".join(nodes)


def unpack_range(data: bytes) -> list[bytes]:
    if len(data) % HASH_SIZE:
        raise ProofError("a stored compact range is not a whole number of hashes")
    return [bytes(data[i:i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]
